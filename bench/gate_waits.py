"""`python -m bench.gate_waits [--backends sqlite,postgresql] [--waiters 1000]`: many pipelines waiting at once.

The server runs as `python -m bot run` in its own process. A release needs two approvals for prod and has one;
N gate checks (`POST /api/v1/gate`, signed, `"wait_seconds": 120`) are sent at once and held (the server's caps on
waiting checks are raised to N: all of them wait for one release). Then the second
approval is given as a slash command. Printed: the server's extra RSS while the N checks wait (against the idle
server with the release in place), and when the answers arrive, counted from the moment the approval was sent.
Figures only; nothing here asserts a time.
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.servers import Server, drop_databases, fresh_database, rss_mb, shipmate
from bench.slack_side import TEAM_ID, SlackSide, command, signed
from bot import signing

WEBHOOK_SECRET = "bench-webhook-secret"
POLICY = """release_managers = ["U0RM"]
[slack]
coordination_channel = "C0RELEASE"
[[environments]]
name = "prod"
approvals = 2
approvers = ["U0BOB", "U0CAROL"]
"""
BODY = json.dumps(
    {"team_id": TEAM_ID, "service": "payments", "version": "2.4.0", "environment": "prod", "wait_seconds": 120}
).encode()


async def _slash(http: aiohttp.ClientSession, server: Server, side: SlackSide, text: str, user: str) -> None:
    body = command(text, f"http://127.0.0.1:{side.port}/respond/{user}-{time.monotonic_ns()}", user=user)
    async with http.post(server.url, data=body, headers=signed(body)) as response:
        assert response.status == 200, await response.text()


async def _gate(http: aiohttp.ClientSession, base: str) -> tuple[int, float]:
    headers = {"Content-Type": "application/json", **signing.sign(WEBHOOK_SECRET, BODY, now=time.time())}
    try:
        async with http.post(base + "/api/v1/gate", data=BODY, headers=headers) as response:
            await response.read()
            return response.status, time.perf_counter()
    except aiohttp.ClientError as exc:  # counted, not fatal: the figures say how many failed
        print(f"gate check failed: {type(exc).__name__} {exc}", file=sys.stderr)
        return 0, time.perf_counter()


async def _until(http: aiohttp.ClientSession, base: str, count: str) -> None:
    """Ask without waiting until the refusal shows `count` approvals (commands are answered after their ack)."""
    quick = json.loads(BODY)
    quick["wait_seconds"] = 0
    raw = json.dumps(quick).encode()
    for _ in range(400):
        headers = {"Content-Type": "application/json", **signing.sign(WEBHOOK_SECRET, raw, now=time.time())}
        async with http.post(base + "/api/v1/gate", data=raw, headers=headers) as response:
            if response.status == 409 and count in await response.text():
                return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the release never showed {count} approvals")


async def run(backend: str, waiters: int, side: SlackSide, workdir: Path) -> dict[str, Any]:
    url, _target = await fresh_database(backend, workdir, "gates")
    limits = {"SHIPMATE_MAX_GATE_WAITERS": str(waiters), "SHIPMATE_MAX_GATE_WAITERS_PER_RELEASE": str(waiters)}
    async with shipmate(
        side, url, workdir, policy_text=POLICY, SHIPMATE_WEBHOOK_SECRET=WEBHOOK_SECRET, **limits
    ) as server:
        base = f"http://127.0.0.1:{server.port}"
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as http:
            await _slash(http, server, side, "propose payments 2.4.0 Bench the gates", "U0ALICE")
            await _until(http, base, "0/2")  # the proposal has committed
            await _slash(http, server, side, "approve payments@2.4.0", "U0BOB")
            await _until(http, base, "1/2")
            await asyncio.sleep(1)
            idle = rss_mb(server.process.pid)
            tasks = [asyncio.create_task(_gate(http, base)) for _ in range(waiters)]
            await asyncio.sleep(max(3.0, waiters / 300))  # every check has arrived and is waiting
            waiting = rss_mb(server.process.pid)
            still = sum(not task.done() for task in tasks)
            sent = time.perf_counter()
            await _slash(http, server, side, "approve payments@2.4.0", "U0CAROL")
            answers = await asyncio.gather(*tasks)
    after = sorted(at - sent for status, at in answers if status == 200)
    return {
        "waiters": waiters,
        "waiting_when_approved": still,
        "allowed": len(after),
        "statuses": {str(code): sum(1 for status, _ in answers if status == code) for code in {s for s, _ in answers}},
        "rss_idle_mb": round(idle, 1),
        "rss_waiting_mb": round(waiting, 1),
        "rss_extra_mb": round(waiting - idle, 1),
        "released_p50_s": round(statistics.median(after), 3) if after else None,
        "released_max_s": round(after[-1], 3) if after else None,
    }


async def main(args: argparse.Namespace) -> None:
    side = SlackSide()
    await side.start()
    try:
        for backend in args.backends.split(","):
            with tempfile.TemporaryDirectory(prefix="shipmate-bench-") as workdir:
                print(f"== {backend}", flush=True)
                print(json.dumps(await run(backend, args.waiters, side, Path(workdir)), indent=1), flush=True)
    finally:
        await side.close()
        if "postgresql" in args.backends:
            await drop_databases()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.gate_waits")
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--waiters", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))
