"""The reminder engine: N due window reminders in a fresh database, claimed and run by 1 or 2 worker processes.

Kind: `window_reminder` ("the window opens soon"). Each job refers to a planned release whose window starts in a
few hours; running it re-reads the release, writes one line in the release's thread (an outbox row with the
release id), one DM per proposer per batch, and marks the job done — the claim, the fence, the reads and the writes
of the real path. It is a time-bound notice, not a nudge, so it is not held back outside working hours (which would
make the figure depend on the time of day the bench runs).

Exactly once: after the run every job is `done`, and the outbox holds exactly one thread line per release.
"""

import asyncio
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.seed import RELEASE_COLUMNS, TEAM, ref
from bot.domain.reminders import Kind, window_key

PROPOSERS = 100
JOB_COLUMNS = (
    "id", "team_id", "kind", "release_id", "target", "due_at", "status", "attempts", "dedupe_key", "payload",
    "last_error", "created_at",
)  # fmt: skip


def rows(count: int, now: datetime) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """`count` proposed releases with a window 2–3 h ahead, and one due window-reminder job for each."""
    now = now.replace(microsecond=0)
    releases, due = [], []
    for i in range(count):
        service, version = ref(i)
        start = now + timedelta(hours=2, seconds=i % 3600)
        proposer = f"U0P{i % PROPOSERS:03d}"
        releases.append(
            (i + 1, TEAM, service, version, f"Release {i} of {service}", "- a change", "medium", "redeploy",
             "proposed", proposer, "C0RELEASE", f"1700000000.{i:06d}", 1, "", now, now,
             start, start + timedelta(hours=1))
        )  # fmt: skip
        due.append(
            (i + 1, TEAM, str(Kind.WINDOW), i + 1, proposer, now - timedelta(seconds=1 + i % 60), "pending", 0,
             window_key(i + 1, start), "{}", "", now)
        )  # fmt: skip
    return releases, due


RELEASES = (*RELEASE_COLUMNS, "window_start", "window_end")


def seed_sqlite(path: str, count: int) -> None:
    releases, due = rows(count, datetime.now(UTC))

    def naive(table: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [
            tuple(v.replace(tzinfo=None).isoformat(" ") if isinstance(v, datetime) else v for v in r) for r in table
        ]

    connection = sqlite3.connect(path)
    with connection:
        for name, columns, table in (("releases", RELEASES, releases), ("scheduled_jobs", JOB_COLUMNS, due)):
            marks = ", ".join("?" * len(columns))
            connection.executemany(f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})", naive(table))
    connection.execute("ANALYZE")
    connection.close()


async def seed_postgres(dsn: str, count: int) -> None:
    releases, due = rows(count, datetime.now(UTC))
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table("releases", records=releases, columns=RELEASES)
        await connection.copy_records_to_table("scheduled_jobs", records=due, columns=JOB_COLUMNS)
        for table in ("releases", "scheduled_jobs"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


CHECKS = {
    "done": "SELECT count(*) FROM scheduled_jobs WHERE status = 'done'",
    "not_done": "SELECT count(*) FROM scheduled_jobs WHERE status <> 'done'",
    "thread_rows": "SELECT count(*) FROM outbox WHERE kind = 'thread'",
    "thread_releases": "SELECT count(DISTINCT release_id) FROM outbox WHERE kind = 'thread'",
    "dm_rows": "SELECT count(*) FROM outbox WHERE kind = 'dm'",
}


async def check(backend: str, target: str) -> dict[str, int]:
    if backend == "sqlite":
        connection = sqlite3.connect(target)
        try:
            return {name: int(connection.execute(sql).fetchone()[0]) for name, sql in CHECKS.items()}
        finally:
            connection.close()
    pg = await asyncpg.connect(target)
    try:
        return {name: int(await pg.fetchval(sql)) for name, sql in CHECKS.items()}
    finally:
        await pg.close()


async def run_workers(url: str, policy: Path, processes: int, log: Path, batch: int | None = None) -> dict[str, Any]:
    """Start `processes` workers, wait until each is connected, start them together, collect their figures."""
    argv = [sys.executable, "-m", "bench.reminders_worker", url, str(policy)]
    if batch is not None:
        argv += ["--batch", str(batch)]
    workers = [
        await asyncio.create_subprocess_exec(
            *argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.open("ab")
        )
        for _ in range(processes)
    ]
    for worker in workers:
        assert worker.stdout is not None
        line = await asyncio.wait_for(worker.stdout.readline(), 60)
        if line.strip() != b"ready":
            raise RuntimeError(f"worker did not start; see {log}")
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    reports = []
    for worker in workers:
        assert worker.stdout is not None
        reports.append(json.loads(await asyncio.wait_for(worker.stdout.readline(), 600)))
        await worker.wait()
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    jobs = sum(r["ran"] for r in reports)
    return {"processes": processes, "claimed": jobs, "per_process": [r["ran"] for r in reports], "wall_s": wall}
