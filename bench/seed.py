"""Bulk seeding: releases and audit events straight into the tables (SQLite executemany, PostgreSQL COPY)."""

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import asyncpg

TEAM = "T0BENCH"
SERVICES = 50
STATUSES = ("proposed", "approved", "in_progress", "released", "rejected", "cancelled")
ACTIONS = ("proposed", "approved", "status", "deployed", "verified")
BASE = datetime(2025, 1, 1, tzinfo=UTC)


def ref(i: int) -> tuple[str, str]:
    """Release number i is svc{i % 50}@1.{i // 50}.0, so small and large datasets share their first refs."""
    return f"svc{i % SERVICES}", f"1.{i // SERVICES}.0"


def release_rows(count: int) -> list[tuple[object, ...]]:
    rows = []
    for i in range(count):
        service, version = ref(i)
        at = BASE + timedelta(minutes=i)
        rows.append(
            (i + 1, TEAM, service, version, f"Release {i} of {service}", "- a change", "medium", "redeploy",
             STATUSES[i % len(STATUSES)], "U0BENCH", "C0RELEASE", f"1700000000.{i:06d}", 1, "", at, at)
        )  # fmt: skip
    return rows


def audit_rows(releases: int, per_release: int) -> list[tuple[object, ...]]:
    rows = []
    n = 0
    for i in range(releases):
        for k in range(per_release):
            n += 1
            details = json.dumps({"environment": "prod", "comment": "ok"} if k else {"risk": "medium"})
            at = BASE + timedelta(minutes=i, seconds=k)
            rows.append((n, TEAM, i + 1, "U0BENCH", ACTIONS[k % len(ACTIONS)], details, at))
    return rows


RELEASE_COLUMNS = (
    "id", "team_id", "service", "version", "summary", "changes", "risk", "rollback_plan", "status",
    "proposer_id", "channel_id", "message_ts", "row_version", "review_summary", "created_at", "updated_at",
)  # fmt: skip
AUDIT_COLUMNS = ("id", "team_id", "release_id", "actor_id", "action", "details", "created_at")


def seed_sqlite(path: str, releases: int, per_release: int) -> None:
    def naive(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [tuple(v.replace(tzinfo=None).isoformat(" ") if isinstance(v, datetime) else v for v in r) for r in rows]

    connection = sqlite3.connect(path)
    with connection:
        marks = ", ".join("?" * len(RELEASE_COLUMNS))
        connection.executemany(
            f"INSERT INTO releases ({', '.join(RELEASE_COLUMNS)}) VALUES ({marks})", naive(release_rows(releases))
        )
        marks = ", ".join("?" * len(AUDIT_COLUMNS))
        connection.executemany(
            f"INSERT INTO audit_events ({', '.join(AUDIT_COLUMNS)}) VALUES ({marks})",
            naive(audit_rows(releases, per_release)),
        )
    connection.execute("ANALYZE")
    connection.close()


async def seed_postgres(dsn: str, releases: int, per_release: int) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table("releases", records=release_rows(releases), columns=RELEASE_COLUMNS)
        await connection.copy_records_to_table(
            "audit_events", records=audit_rows(releases, per_release), columns=AUDIT_COLUMNS
        )
        for table in ("releases", "audit_events"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
