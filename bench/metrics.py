"""`python -m bench --only metrics`: `/release metrics` over 100,000 releases, 1,000,000 audit events and the
deployments of a year (~260,000: dev, qa, and prod for 60 % of releases, some rolled back, some failing their
sign-off, some failing in CI).

Three figures per backend, none asserted:
- the data path in-process: `bot.services.metrics.delivery.report` (the SQL aggregates and the measures of the
  period, the previous one and the weeks), sequential calls after a warm-up; the 200 ms p99 target is about this;
- the chart drawn alone (matplotlib, Agg), for 30 days (5 bars) and a year (53 bars);
- the command end to end through the real server with one connection: ack, then the answer on `response_url`
  after the figures, the chart and its upload to the (fake) Slack.
"""

import asyncio
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from bench.seed import SERVICES, TEAM, ref
from bench.slack_side import SlackSide, command, signed
from bot import charts
from bot.domain.policy import parse_policy
from bot.services.kernel.context import ServiceContext
from bot.services.metrics import delivery
from bot.settings import Settings
from storage.db import Database

YEAR = timedelta(days=365)
DEPLOYMENT_COLUMNS = (
    "id", "team_id", "release_id", "service", "version", "environment", "actor_id", "outcome", "bypassed_gates",
    "created_at", "rolled_back_at", "commit_at", "verification_failed_at",
)  # fmt: skip
POLICY = """
[[environments]]
name = "dev"
[[environments]]
name = "qa"
[[environments]]
name = "prod"
"""


def deployment_rows(releases: int, now: datetime) -> list[tuple[object, ...]]:
    """Release i goes to dev at its moment of the last year, qa an hour later, and 3 in 5 reach prod two hours
    after that; 1 in 37 of those fails in CI, 1 in 13 is rolled back, 1 in 29 fails its sign-off."""
    rows: list[tuple[object, ...]] = []
    step = YEAR / releases
    for i in range(releases):
        service, version = ref(i)
        at = now - YEAR + i * step
        commit = at - timedelta(hours=i % 48)
        plan = [("dev", at, "succeeded"), ("qa", at + timedelta(hours=1), "succeeded")]
        if i % 5 < 3:
            plan.append(("prod", at + timedelta(hours=3), "failed" if i % 37 == 0 else "succeeded"))
        for environment, when, outcome in plan:
            prod_ok = environment == "prod" and outcome == "succeeded"
            rolled_back = when + timedelta(hours=1) if prod_ok and i % 13 == 0 else None
            failed_signoff = when + timedelta(hours=2) if prod_ok and i % 29 == 0 else None
            rows.append(
                (len(rows) + 1, TEAM, i + 1, service, version, environment, "ci", outcome, False, when, rolled_back,
                 commit, failed_signoff)
            )  # fmt: skip
    return rows


def seed_sqlite(path: str, releases: int, now: datetime) -> int:
    rows = [
        tuple(v.replace(tzinfo=None).isoformat(" ") if isinstance(v, datetime) else v for v in row)
        for row in deployment_rows(releases, now)
    ]
    connection = sqlite3.connect(path)
    with connection:
        marks = ", ".join("?" * len(DEPLOYMENT_COLUMNS))
        connection.executemany(f"INSERT INTO deployments ({', '.join(DEPLOYMENT_COLUMNS)}) VALUES ({marks})", rows)
    connection.execute("ANALYZE")
    connection.close()
    return len(rows)


async def seed_postgres(dsn: str, releases: int, now: datetime) -> int:
    rows = deployment_rows(releases, now)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table("deployments", records=rows, columns=DEPLOYMENT_COLUMNS)
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('deployments', 'id'), (SELECT max(id) FROM deployments))"
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return len(rows)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "max": ordered[-1],
        "runs": len(ordered),
    }


async def timed(call: Callable[[], Awaitable[Any]], runs: int, warmup: int = 5) -> dict[str, float]:
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


async def data_path(url: str, runs: int) -> dict[str, Any]:
    """`delivery.report` as `/release metrics` calls it, for the workspace and one service, over 30 to 365 days."""
    db = Database(url)
    ctx = ServiceContext(db=db, policy=parse_policy(POLICY), settings=Settings(_env_file=None, database_url=url))
    out: dict[str, Any] = {}
    try:
        variants: dict[str, Callable[[], Awaitable[Any]]] = {
            "workspace 30d": lambda: delivery.report(ctx, TEAM, days=30),
            "service 30d": lambda: delivery.report(ctx, TEAM, service="svc7", days=30),
            "workspace 90d": lambda: delivery.report(ctx, TEAM, days=90),
            "service 365d": lambda: delivery.report(ctx, TEAM, service="svc7", days=365),
            "App Home summary 30d": lambda: delivery.summary(ctx, TEAM),
        }
        for name, call in variants.items():
            out[name] = await timed(call, runs)
            print(f"  metrics data path {name}: {out[name]}", flush=True)
        month = await delivery.report(ctx, TEAM, days=30)
        year = await delivery.report(ctx, TEAM, days=365)
        out["figures 30d"] = {line.name: f"{line.value} ({line.level_text})" for line in month.lines}
    finally:
        await db.dispose()
    for name, report in (("chart 30d (5 bars)", month), ("chart 365d (53 bars)", year)):

        async def draw(report: delivery.Report = report) -> bytes:
            return await asyncio.to_thread(charts.delivery_chart, report.title, report.weeks)

        out[name] = await timed(draw, max(10, runs // 10), warmup=2)
        print(f"  metrics {name}: {out[name]}", flush=True)
    return out


def services_in_turn(_worker: int, i: int) -> str:
    return "metrics" if i % 5 == 0 else f"metrics svc{i % SERVICES}"


async def end_to_end(side: SlackSide, url: str, seconds: float) -> dict[str, float]:
    """`/release metrics` as a person types it, one at a time for `seconds`: from the signed request to the answer
    (in the ack, or on response_url after "Working on it…" when the chart upload takes longer than the budget)."""
    samples: list[float] = []
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            key = f"metrics-{len(samples)}"
            answered: asyncio.Future[float] = loop.create_future()
            side.answers[key] = answered
            body = command(services_in_turn(0, len(samples)), f"http://127.0.0.1:{side.port}/respond/{key}")
            started = time.perf_counter()
            async with http.post(url, data=body, headers=signed(body)) as response:
                acked = await response.text()
            if "Working on it" in acked:
                finished = await asyncio.wait_for(answered, 60)
            else:
                finished = time.perf_counter()
                side.answers.pop(key, None)
            samples.append((finished - started) * 1000)
    return percentiles(samples)
