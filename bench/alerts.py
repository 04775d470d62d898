"""`python -m bench.alerts [--backends sqlite,postgresql] [--services 20] [--grace 1s]`: from an alert arriving
to the rollback request reaching the deployer.

The server runs as `python -m bot run` in its own process, with `auto_rollback = true` and `rollback_grace` for
prod. Each of N services has two versions deployed to prod (CI reports them through `POST /hooks/deployments`), and
a deployer webhook that is a receiver in this process. Then Alertmanager's example body is sent once per service,
its alert starting now, and re-sent every second (as Alertmanager re-sends a group) until the request arrives.
Printed per backend: the time from sending each alert to its rollback request arriving (`total`), that time minus
the grace (`beyond_grace`: what Shipmate adds: the scheduler's sweep, the job, the outbox and the send), and how
many requests arrived per service (exactly one each). Figures only; nothing here asserts a time.
"""

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.servers import Server, drop_databases, free_port, fresh_database, shipmate
from bench.slack_side import TEAM_ID, SlackSide, command, signed
from bot import signing
from bot.domain.timeparse import parse_duration

WEBHOOK_SECRET = "bench-webhook-secret"
ALERTS_TOKEN = "bench-alerts-token"
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "alerts" / "alertmanager.payload.json"


def _policy(services: list[str], deployer_url: str, grace: str) -> str:
    text = f"""release_managers = ["U0RM"]
[slack]
coordination_channel = "C0RELEASE"
[[environments]]
name = "prod"
deployers = ["U0DAVE"]
auto_rollback = true
rollback_grace = "{grace}"
"""
    for service in services:
        text += f'\n[services.{service}]\ndeploy = {{ webhook = "{deployer_url}/{service}" }}\n'
    return text


class Deployer:
    """Every service's deployer: records when each request arrives."""

    def __init__(self) -> None:
        self.arrived: dict[str, list[float]] = {}
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/deploy/{service}", self._deploy)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _deploy(self, request: web.Request) -> web.Response:
        at = time.perf_counter()
        body = await request.json()
        if body.get("action") == "rollback":
            self.arrived.setdefault(request.match_info["service"], []).append(at)
        return web.json_response({"ok": True})


def _alert(service: str, started: datetime) -> bytes:
    body: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    alert = body["alerts"][0]
    alert["labels"] |= {"service": service, "environment": "prod", "alertname": "HighErrorRate"}
    alert["fingerprint"] = f"{abs(hash(service)):016x}"[:16]
    alert["startsAt"] = started.isoformat().replace("+00:00", "Z")
    return json.dumps(body).encode()


async def _propose(http: aiohttp.ClientSession, server: Server, side: SlackSide, service: str, version: str) -> None:
    text = f"propose {service} {version} Bench the alerts"
    body = command(text, f"http://127.0.0.1:{side.port}/respond/{service}-{version}", user="U0ALICE")
    async with http.post(server.url, data=body, headers=signed(body)) as response:
        assert response.status == 200, await response.text()


async def _live(http: aiohttp.ClientSession, server: Server, side: SlackSide, base: str, service: str) -> None:
    for version in ("1.0.0", "1.1.0"):
        await _propose(http, server, side, service, version)
        for _ in range(200):  # the proposal commits before the command's answer; retry until CI's report lands
            body = json.dumps(
                {
                    "team_id": TEAM_ID,
                    "service": service,
                    "version": version,
                    "environment": "prod",
                    "status": "succeeded",
                    "delivery_id": f"{service}-{version}-{time.monotonic_ns()}",
                }
            ).encode()
            headers = {"Content-Type": "application/json", **signing.sign(WEBHOOK_SECRET, body, now=time.time())}
            async with http.post(base + "/hooks/deployments", data=body, headers=headers) as response:
                if response.status == 201:
                    break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"{service}@{version} never became live")


async def run(backend: str, services: int, grace: str, side: SlackSide, workdir: Path) -> dict[str, Any]:
    names = [f"svc{i:03d}" for i in range(services)]
    deployer = Deployer()
    await deployer.start()
    url, _target = await fresh_database(backend, workdir, "alerts")
    policy = _policy(names, f"http://127.0.0.1:{deployer.port}/deploy", grace)
    env = {"SHIPMATE_WEBHOOK_SECRET": WEBHOOK_SECRET, "SHIPMATE_ALERTS_TOKEN": ALERTS_TOKEN}
    try:
        async with (
            shipmate(side, url, workdir, policy_text=policy, **env) as server,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http,
        ):
            base = f"http://127.0.0.1:{server.port}"
            for name in names:
                await _live(http, server, side, base, name)
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ALERTS_TOKEN}"}
            started = datetime.now(UTC)
            bodies = {name: _alert(name, started) for name in names}
            sent: dict[str, float] = {}
            deadline = time.perf_counter() + parse_duration(grace).total_seconds() + 60
            while len(deployer.arrived) < services and time.perf_counter() < deadline:
                for name, body in bodies.items():  # Alertmanager re-sends the group every interval
                    sent.setdefault(name, time.perf_counter())
                    async with http.post(base + "/hooks/alerts", data=body, headers=headers) as response:
                        assert response.status == 202, await response.text()
                await asyncio.sleep(1.0)
            await asyncio.sleep(2.0)  # anything doubled would arrive now
    finally:
        await deployer.close()
    totals = sorted(deployer.arrived[name][0] - sent[name] for name in names if name in deployer.arrived)
    grace_s = parse_duration(grace).total_seconds()
    return {
        "services": services,
        "grace_s": grace_s,
        "rolled_back": len(totals),
        "requests_per_service": sorted({len(times) for times in deployer.arrived.values()}),
        "total_p50_s": round(statistics.median(totals), 3) if totals else None,
        "total_max_s": round(totals[-1], 3) if totals else None,
        "beyond_grace_p50_s": round(statistics.median(totals) - grace_s, 3) if totals else None,
        "beyond_grace_max_s": round(totals[-1] - grace_s, 3) if totals else None,
    }


async def main(args: argparse.Namespace) -> None:
    side = SlackSide()
    await side.start()
    try:
        for backend in args.backends.split(","):
            with tempfile.TemporaryDirectory(prefix="shipmate-bench-") as workdir:
                print(f"== {backend}", flush=True)
                print(json.dumps(await run(backend, args.services, args.grace, side, Path(workdir)), indent=1))
    finally:
        await side.close()
        if "postgresql" in args.backends:
            await drop_databases()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.alerts")
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--grace", default="1s")
    asyncio.run(main(parser.parse_args()))
