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


HOME_USERS = tuple(f"U0H{n:02d}" for n in range(20))  # members of S0RELMGR (see slack_side), so prod approvers
APPROVAL_COLUMNS = ("id", "team_id", "release_id", "environment", "user_id", "decision", "comment", "created_at")
ITEM_COLUMNS = ("id", "team_id", "release_id", "owner_id", "due_at", "text", "status", "created_by", "created_at")


def home_tables(releases: int, now: datetime) -> list[tuple[str, tuple[str, ...], list[tuple[object, ...]]]]:
    """What makes each home user's App Home do real work, on top of `releases` seeded releases: 3 planned releases
    of their own with a window in the next days, 5 open action items, and one approval (by U0BOB, 1 of 2 for prod)
    on the newest 300 seeded releases, so those still await the home user's approval with one decision loaded."""
    now = now.replace(microsecond=0)
    own, approvals, items = [], [], []
    n = releases
    for u, user in enumerate(HOME_USERS):
        for k in range(3):
            n += 1
            start = now + timedelta(hours=6 + 24 * k + u)
            own.append(
                (n, TEAM, f"home{u}", f"9.{k}.0", f"Home release {k} of {user}", "- a change", "high", "redeploy",
                 STATUSES[k % 3], user, "C0RELEASE", f"1700000001.{n:06d}", 1, "", now, now,
                 start, start + timedelta(hours=1))
            )  # fmt: skip
        for k in range(5):
            items.append(
                (len(items) + 1, TEAM, 1, user, now + timedelta(days=k + 1), f"Follow-up {k} for {user}", "open",
                 "U0BENCH", now)
            )  # fmt: skip
    for a, release_id in enumerate(range(max(1, releases - 299), releases + 1)):
        approvals.append((a + 1, TEAM, release_id, "prod", "U0BOB", "approve", "", now))
    return [
        ("releases", (*RELEASE_COLUMNS, "window_start", "window_end"), own),
        ("approvals", APPROVAL_COLUMNS, approvals),
        ("action_items", ITEM_COLUMNS, items),
    ]


def seed_home_sqlite(path: str, releases: int) -> None:
    connection = sqlite3.connect(path)
    with connection:
        for table, columns, rows in home_tables(releases, datetime.now(UTC)):
            naive = [
                tuple(v.replace(tzinfo=None).isoformat(" ") if isinstance(v, datetime) else v for v in r) for r in rows
            ]
            marks = ", ".join("?" * len(columns))
            connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", naive)
    connection.execute("ANALYZE")
    connection.close()


async def seed_home_postgres(dsn: str, releases: int) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        tables = home_tables(releases, datetime.now(UTC))
        for table, columns, rows in tables:
            await connection.copy_records_to_table(table, records=rows, columns=columns)
        for table, _, _ in tables:
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


TARGETS_FROM_ID = 5_000_000  # approval targets' ids, clear of the seeded releases and the ones made during a run


def approval_target(k: int) -> str:
    """The k-th release seeded to be approved during a run (proposed, no decision yet)."""
    return f"appr{k % SERVICES}@3.{k}.0"


def approval_target_rows(count: int) -> list[tuple[object, ...]]:
    now = datetime.now(UTC).replace(microsecond=0)
    rows = []
    for k in range(count):
        service, version = approval_target(k).split("@")
        n = TARGETS_FROM_ID + k
        rows.append(
            (n, TEAM, service, version, f"Approval target {k}", "- a change", "medium", "redeploy", "proposed",
             "U0BENCH", "C0RELEASE", f"1700000002.{k:06d}", 1, "", now, now)
        )  # fmt: skip
    return rows


def seed_targets_sqlite(path: str, count: int) -> None:
    connection = sqlite3.connect(path)
    with connection:
        marks = ", ".join("?" * len(RELEASE_COLUMNS))
        rows = [tuple(v.replace(tzinfo=None).isoformat(" ") if isinstance(v, datetime) else v for v in r)
                for r in approval_target_rows(count)]  # fmt: skip
        connection.executemany(f"INSERT INTO releases ({', '.join(RELEASE_COLUMNS)}) VALUES ({marks})", rows)
    connection.execute("ANALYZE")
    connection.close()


async def seed_targets_postgres(dsn: str, count: int) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table("releases", records=approval_target_rows(count), columns=RELEASE_COLUMNS)
        await connection.execute("ANALYZE releases")
    finally:
        await connection.close()
