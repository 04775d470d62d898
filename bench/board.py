"""`python -m bench.board [--releases 100000] [--runs 50] [--backend sqlite,postgresql]`: the web board's server
time over a workspace of 100,000 releases (half of them still open, the release seed of bench/seed.py), their
deployments of a year (~260,000, some rolled back: bench/metrics.py), 60 planned windows in the coming days
(bench/seed.py's App Home rows) and freezes, in a fresh database per backend.

Figures printed, none asserted (the target is 200 ms):
- the board's data path and its HTML, in-process: `bot.services.board.board` + rendering `board.html.j2`, and
  the same with the delivery figures recomputed each time (they are kept a minute per workspace and process);
- `GET /board` through the real aiohttp app with a signed session cookie, one request at a time (the server time
  of the whole request, measured from the client on loopback);
- the CPU time this process spends per page (wall times on a shared machine include waiting for the CPU; on
  SQLite this is all the work, on PostgreSQL the server's share is not in it);
- the chart (`GET /board/chart.png`) drawn once, and then kept: the board's page never waits for it.
"""

import argparse
import asyncio
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp.test_utils import TestServer

from bench import metrics, seed
from bench.metrics import percentiles, timed
from bench.servers import drop_databases, fresh_database
from bot.domain.policy import parse_policy
from bot.domain.timeparse import zone
from bot.server import create_app
from bot.services import board
from bot.services.kernel.context import ServiceContext
from bot.settings import Settings
from bot.web.html import render
from bot.web.session import SESSION_COOKIE, Identity, Signer
from storage.db import Database

SECRET = "bench-client-secret"
FREEZES = 10
POLICY = 'timezone = "UTC"\n' + metrics.POLICY


def freeze_rows(now: datetime) -> list[tuple[object, ...]]:
    return [
        (k + 1, seed.TEAM, ("dev", "qa", "prod")[k % 3], now + timedelta(days=3 * k),
         now + timedelta(days=3 * k, hours=8), f"Freeze {k}", "U0BENCH", now)
        for k in range(FREEZES)
    ]  # fmt: skip


FREEZE_COLUMNS = ("id", "team_id", "environment", "start_at", "end_at", "reason", "created_by", "created_at")


async def seeded(backend: str, workdir: Path, releases: int) -> str:
    url, target = await fresh_database(backend, workdir, "board")
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    if backend == "sqlite":
        await asyncio.to_thread(seed.seed_sqlite, target, releases, 0)
        await asyncio.to_thread(metrics.seed_sqlite, target, releases, now)
        await asyncio.to_thread(seed.seed_home_sqlite, target, releases)
        connection = sqlite3.connect(target)
        with connection:
            rows = [tuple(v.replace(tzinfo=None).isoformat(" ") if isinstance(v, datetime) else v for v in r)
                    for r in freeze_rows(now)]  # fmt: skip
            connection.executemany(f"INSERT INTO freezes ({', '.join(FREEZE_COLUMNS)}) VALUES (?,?,?,?,?,?,?,?)", rows)
        connection.execute("ANALYZE")
        connection.close()
    else:
        await seed.seed_postgres(target, releases, 0)
        await metrics.seed_postgres(target, releases, now)
        await seed.seed_home_postgres(target, releases)
        connection = await asyncpg.connect(target)
        try:
            await connection.copy_records_to_table("freezes", records=freeze_rows(now), columns=FREEZE_COLUMNS)
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
    print(f"  {backend}: seeded {releases} releases in {time.perf_counter() - t0:.1f} s", flush=True)
    return url


async def in_process(url: str, runs: int) -> dict[str, Any]:
    db = Database(url)
    policy = parse_policy(POLICY)
    ctx = ServiceContext(db=db, policy=policy, settings=Settings(_env_file=None, database_url=url))
    me = Identity(seed.TEAM, "U0BENCH", "Bench", "Bench workspace")

    async def page() -> str:
        view = await board.board(ctx, seed.TEAM)
        return render("board.html.j2", view=view, me=me, csrf="x", tz=zone(view.timezone))

    try:
        view = await board.board(ctx, seed.TEAM)
        shape = {
            "in flight": len(view.flights),
            "services live": len(view.matrix),
            "calendar entries": sum(len(day.entries) for week in view.weeks for day in week),
            "deployments": len(view.deployments),
            "rollbacks": len(view.rollbacks),
            "html bytes": len(await page()),
        }
        cpu = time.process_time()
        out: dict[str, Any] = {"shape": shape, "data + html": await timed(page, runs, warmup=0)}
        out["cpu ms per page"] = (time.process_time() - cpu) * 1000 / runs

        async def cold() -> str:
            ctx.summaries.clear()  # the delivery figures, otherwise computed at most once a minute per workspace
            return await page()

        out["data + html, figures recomputed"] = await timed(cold, max(5, runs // 3))
        started = time.perf_counter()
        await board.chart(ctx, seed.TEAM)
        out["chart drawn once ms"] = (time.perf_counter() - started) * 1000
    finally:
        await db.dispose()
    return out


async def over_http(url: str, runs: int) -> dict[str, float]:
    settings = Settings(
        _env_file=None,
        database_url=url,
        slack_bot_token="xoxb-bench",
        slack_signing_secret="bench",
        slack_api_url="http://127.0.0.1:9/api/",  # never called by GET /board
        slack_client_id="bench",
        slack_client_secret=SECRET,
        shipmate_public_url="https://bench.example",
        shipmate_poll_interval=60,
    )
    server = TestServer(create_app(settings, parse_policy(POLICY)), host="127.0.0.1")
    await server.start_server()
    cookie = Signer(SECRET).session(Identity(seed.TEAM, "U0BENCH"), now=time.time())
    try:
        async with aiohttp.ClientSession() as http:

            async def get() -> None:
                async with http.get(server.make_url("/board"), headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}) as r:
                    assert r.status == 200, r.status
                    await r.read()

            for _ in range(5):
                await get()
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                await get()
                samples.append((time.perf_counter() - started) * 1000)
    finally:
        await server.close()
    return percentiles(samples)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        try:
            for backend in args.backend.split(","):
                url = await seeded(backend, Path(workdir), args.releases)
                found = await in_process(url, args.runs)
                print(f"  {backend}: board shape {found['shape']}", flush=True)
                print(f"  {backend}: board data + html in-process (ms) {found['data + html']}", flush=True)
                print(
                    f"  {backend}: CPU of this process per page {found['cpu ms per page']:.1f} ms (SQLite: all of it)"
                )
                print(f"  {backend}: the same, figures recomputed (ms) {found['data + html, figures recomputed']}")
                print(f"  {backend}: chart drawn once {found['chart drawn once ms']:.0f} ms (then kept 5 min)")
                print(f"  {backend}: GET /board over HTTP (ms) {await over_http(url, args.runs)}", flush=True)
        finally:
            if "postgresql" in args.backend:
                await drop_databases()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--releases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--backend", default="sqlite,postgresql")
    asyncio.run(main(parser.parse_args()))
