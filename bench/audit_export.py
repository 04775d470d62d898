"""`python -m bench.audit_export [--backends sqlite,postgresql] [--releases 100000] [--per-release 10]
[--changes 10000] [--appends 400]`: the evidence export and the audit chain at size.

Seeded straight into the tables (a chained audit trail of releases × per-release events, `changes` production
deployments with two approvals and a regression sign-off each, and their `deployed` events). Then, each in a fresh
child process so that its peak RSS is its own: `shipmate export changes` of every production change to a file
(time, and RSS growth: the peak over what the process held before it began), and `shipmate audit verify` of the whole
chain. Last, the append cost of one audit event with the chain and without it (the hook that links events taken
out), in transactions of 1 and of 10 events, on the seeded table. Figures only; nothing here asserts a time.
"""

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.seed import ACTIONS, BASE, RELEASE_COLUMNS, TEAM, release_rows
from bench.servers import drop_databases, fresh_database, peak_rss_mb, rss_mb
from bot.domain import audit_chain

AUDIT_COLUMNS = ("id", "team_id", "release_id", "actor_id", "action", "details", "created_at", "prev_hash", "hash")
DEPLOYMENT_COLUMNS = ("id", "team_id", "release_id", "service", "version", "environment", "actor_id", "outcome",
                      "ci_url", "commit_sha", "bypassed_gates", "created_at")  # fmt: skip
APPROVAL_COLUMNS = ("id", "team_id", "release_id", "environment", "user_id", "decision", "comment", "scope_hash",
                    "created_at")  # fmt: skip
VERIFICATION_COLUMNS = ("id", "team_id", "release_id", "environment", "user_id", "passed", "note", "created_at")
CHUNK = 50_000


def _deployed_release(k: int, releases: int, changes: int) -> int:
    return 1 + k * (releases // changes)


def _pipeline_rows(releases: int, changes: int) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    deployments, approvals, verifications = [], [], []
    for k in range(changes):
        release_id = _deployed_release(k, releases, changes)
        service, version = f"svc{(release_id - 1) % 50}", f"1.{(release_id - 1) // 50}.0"
        at = BASE + timedelta(minutes=release_id - 1, seconds=30)
        deployments.append((k + 1, TEAM, release_id, service, version, "prod", "U0RM", "succeeded",
                            f"https://ci.example/run/{k}", "a" * 40, False, at))  # fmt: skip
        for n, user in enumerate(("U0BOB", "U0CAROL")):
            approvals.append((2 * k + n + 1, TEAM, release_id, "prod", user, "approve", "", "b" * 64,
                              at - timedelta(seconds=20)))  # fmt: skip
        verifications.append((k + 1, TEAM, release_id, "qa", "U0QA", True, "=1+1 ok", at - timedelta(seconds=25)))
    return {
        "deployments": (DEPLOYMENT_COLUMNS, deployments),
        "approvals": (APPROVAL_COLUMNS, approvals),
        "verifications": (VERIFICATION_COLUMNS, verifications),
    }


def _audit_chunks(releases: int, per_release: int, changes: int) -> Iterator[list[tuple[Any, ...]]]:
    """The chained trail, `CHUNK` rows at a time; the 4th event of each deployed release is its `deployed`."""
    deployed = {_deployed_release(k, releases, changes): k + 1 for k in range(changes)}
    head, n, chunk = audit_chain.GENESIS, 0, []
    for i in range(releases):
        for k in range(per_release):
            n += 1
            action = ACTIONS[k % len(ACTIONS)]
            details: dict[str, Any] = {"environment": "prod", "comment": "ok"} if k else {"risk": "medium"}
            if k == 3 and i + 1 in deployed:
                details = {"environment": "prod", "deployment_id": deployed[i + 1], "bypassed_gates": []}
            at = BASE + timedelta(minutes=i, seconds=k)
            event = {"team_id": TEAM, "release_id": i + 1, "actor_id": "U0BENCH", "action": action,
                     "details": details, "created_at": at}  # fmt: skip
            prev, head = head, audit_chain.link(event, head)
            chunk.append((n, TEAM, i + 1, "U0BENCH", action, json.dumps(details), at, prev, head))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _naive(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(v.replace(tzinfo=None).isoformat(" ") if isinstance(v, datetime) else v for v in r) for r in rows]


def _seed_sqlite(path: str, releases: int, per_release: int, changes: int) -> None:
    connection = sqlite3.connect(path)
    with connection:
        tables = {"releases": (RELEASE_COLUMNS, release_rows(releases)), **_pipeline_rows(releases, changes)}
        for table, (columns, rows) in tables.items():
            marks = ", ".join("?" * len(columns))
            connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", _naive(rows))
        marks = ", ".join("?" * len(AUDIT_COLUMNS))
        for chunk in _audit_chunks(releases, per_release, changes):
            connection.executemany(
                f"INSERT INTO audit_events ({', '.join(AUDIT_COLUMNS)}) VALUES ({marks})", _naive(chunk)
            )
    connection.execute("ANALYZE")
    connection.close()


async def _seed_postgres(dsn: str, releases: int, per_release: int, changes: int) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        tables = {"releases": (RELEASE_COLUMNS, release_rows(releases)), **_pipeline_rows(releases, changes)}
        for table, (columns, rows) in tables.items():
            await connection.copy_records_to_table(table, records=rows, columns=columns)
        for chunk in _audit_chunks(releases, per_release, changes):
            await connection.copy_records_to_table("audit_events", records=chunk, columns=AUDIT_COLUMNS)
        for table in ("releases", "audit_events", *_pipeline_rows(0, 0)):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def _measured(url: str, what: str, out: str) -> dict[str, float]:
    """In the child process: one export or one chain check, its time and its RSS growth."""
    from bot.services.evidence import Scope, verify, write_csv
    from storage.db import Database

    db = Database(url, pool_size=2)
    async with db.read() as session:  # connected and warm before the baseline
        await session.connection()
    before = rss_mb(os.getpid())
    started, cpu = time.perf_counter(), time.process_time()
    if what == "export":
        with Path(out).open("w", newline="", encoding="utf-8") as stream:  # noqa: ASYNC230  (a benchmark)
            stamp = await write_csv(db, Scope(TEAM, "prod", date(2024, 1, 1), date(2030, 1, 1)), stream)
        count = stamp.rows
    else:
        verdict = await verify(db, TEAM)
        assert verdict.broken is None, verdict.broken
        count = verdict.events
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    await db.dispose()
    return {"seconds": seconds, "cpu": cpu, "count": count, "rss_growth_mb": peak_rss_mb(os.getpid()) - before}


def _child(url: str, what: str, out: str) -> dict[str, float]:
    argv = [sys.executable, "-m", "bench.audit_export", "--measure", what, "--url", url, "--out", out]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


async def _append_cost(url: str, count: int) -> dict[str, float]:
    """µs per audit event appended (wall, and this process's CPU), with the chain and without it, alternating
    rounds (medians)."""
    from storage.db import Database
    from storage.repositories import appends, audit
    from storage.repositories.audit_chain import AUDIT

    db = Database(url, pool_size=2)
    chained_finish = appends._FINISH[AUDIT]
    figures: dict[str, list[float]] = {}
    try:
        for _ in range(5):
            for chained in (False, True):
                if chained:
                    appends.before_write(AUDIT, chained_finish)
                else:
                    appends._FINISH.pop(AUDIT, None)
                for per_tx in (1, 10):
                    started, cpu = time.perf_counter(), time.process_time()
                    for n in range(count // per_tx):
                        async with db.transaction() as session:
                            for k in range(per_tx):
                                audit.append(session, TEAM, "U0BENCH", "noted", details={"n": n, "k": k})
                    events = count // per_tx * per_tx
                    key = f"{'chained' if chained else 'unchained'}_{per_tx}_per_tx"
                    figures.setdefault(f"{key}_us", []).append((time.perf_counter() - started) / events * 1e6)
                    figures.setdefault(f"{key}_cpu_us", []).append((time.process_time() - cpu) / events * 1e6)
    finally:
        appends.before_write(AUDIT, chained_finish)
        await db.dispose()
    return {key: statistics.median(values) for key, values in figures.items()}


async def _backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url, target = await fresh_database(backend, workdir, "audit")
    started = time.perf_counter()
    if backend == "sqlite":
        await asyncio.to_thread(_seed_sqlite, target, args.releases, args.per_release, args.changes)
    else:
        await _seed_postgres(target, args.releases, args.per_release, args.changes)
    seeded = time.perf_counter() - started
    export = await asyncio.to_thread(_child, url, "export", str(workdir / f"{backend}.csv"))
    chain = await asyncio.to_thread(_child, url, "verify", "")
    appends = await _append_cost(url, args.appends)
    return {"seed_seconds": seeded, "export": export, "verify": chain, "append": appends}


def _print(backend: str, args: argparse.Namespace, found: dict[str, Any]) -> None:
    export, chain, cost = found["export"], found["verify"], found["append"]
    events = args.releases * args.per_release
    print(f"\n{backend}: {args.releases:,} releases, {events:,} audit events, {args.changes:,} production changes "
          f"(seeded in {found['seed_seconds']:.1f} s)")  # fmt: skip
    print(f"  export changes: {int(export['count']):,} rows in {export['seconds']:.2f} s ({export['cpu']:.2f} s CPU), "
          f"RSS growth {export['rss_growth_mb']:.1f} MB  (target ≤ 5 s, ≤ 50 MB)")  # fmt: skip
    print(f"  audit verify:   {int(chain['count']):,} events in {chain['seconds']:.2f} s ({chain['cpu']:.2f} s CPU), "
          f"RSS growth {chain['rss_growth_mb']:.1f} MB")  # fmt: skip
    for per_tx in (1, 10):
        plain, chained = cost[f"unchained_{per_tx}_per_tx_us"], cost[f"chained_{per_tx}_per_tx_us"]
        plain_cpu, chained_cpu = cost[f"unchained_{per_tx}_per_tx_cpu_us"], cost[f"chained_{per_tx}_per_tx_cpu_us"]
        print(f"  append, {per_tx:>2} per transaction: {plain:,.0f} µs/event without the chain, "
              f"{chained:,.0f} µs/event with it ({chained - plain:+,.0f} µs); "
              f"CPU here {plain_cpu:,.0f} → {chained_cpu:,.0f} µs/event")  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="shipmate-audit-bench-") as tmp:
        try:
            for backend in args.backends.split(","):
                found = await _backend(backend, args, Path(tmp))
                _print(backend, args, found)
        finally:
            await drop_databases()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--releases", type=int, default=100_000)
    parser.add_argument("--per-release", type=int, default=10)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--appends", type=int, default=400, help="events appended per measured round")
    parser.add_argument("--measure", choices=["export", "verify"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _arguments()
    if arguments.measure:
        print(json.dumps(asyncio.run(_measured(arguments.url, arguments.measure, arguments.out))))
    else:
        asyncio.run(main(arguments))
