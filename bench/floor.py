"""The floor of a write: what any implementation of a proposal or an approval owes its database in this stack, and
nothing else.

The reference (`bench/reference.py`), started with `REFERENCE_DATABASE_URL` and asked `floor <kind> <n>`, runs the
write's transaction before its ack, on the driver itself (an asyncpg pool; `sqlite3` on the event loop, as
Shipmate's writer), then sends `n` Slack messages after the ack, as `deliver <n>` does. The statements:
- `approve`: lock the release's row, read its active decisions, insert the new decision, write the release's new
  version, take the workspace's audit lock and read the chain's head, append the audit event hashed onto it;
- `propose`: insert the release, upsert its three approval reminders (one pipelined round trip on PostgreSQL),
  take the audit lock and read the head, append the hashed audit event;
- both: keep the `n` messages in an outbox in the same transaction (nothing is lost if the process stops before
  they are sent), on PostgreSQL in the audit event's statement, as Shipmate does. Marking them sent is left out
  (Shipmate marks about fifty at a time).

With `BEGIN` and `COMMIT` that is eight and six round trips on PostgreSQL, as many as Shipmate's make. There is no
ORM, no policy, no card, no metric and no log line. So the closed loop's ratio of this reference to the
bare one is the part of a write's line that its database and its messages take in any implementation."""

import hashlib
import itertools
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

RELEASES = 1000  # seeded rows the approvals spread over
TEAM = "T0FLOOR"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS floor_releases (id {serial} PRIMARY KEY, team_id TEXT NOT NULL, "
    "service TEXT NOT NULL, version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS floor_decisions (id {serial} PRIMARY KEY, release_id INTEGER NOT NULL, "
    "user_id TEXT NOT NULL, decision TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_floor_decisions_release ON floor_decisions (release_id)",
    "CREATE TABLE IF NOT EXISTS floor_jobs (id {serial} PRIMARY KEY, dedupe_key TEXT NOT NULL UNIQUE, "
    "release_id INTEGER NOT NULL, due_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS floor_events (id {serial} PRIMARY KEY, team_id TEXT NOT NULL, release_id INTEGER, "
    "action TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_floor_events_team ON floor_events (team_id, id)",
    "CREATE TABLE IF NOT EXISTS floor_outbox (id {serial} PRIMARY KEY, release_id INTEGER NOT NULL, "
    "payload TEXT NOT NULL, status TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_floor_outbox_pending ON floor_outbox (id) WHERE status = 'pending'",
)
SQL = {
    "lock": "SELECT id, version FROM floor_releases WHERE id = {1} AND team_id = {2}",
    "decisions": "SELECT user_id, decision FROM floor_decisions WHERE release_id = {1}",
    "decide": "INSERT INTO floor_decisions (release_id, user_id, decision, created_at) VALUES ({1}, {2}, 'a', {3})",
    "version": "UPDATE floor_releases SET version = version + 1 WHERE id = {1}",
    "insert": "INSERT INTO floor_releases (team_id, service, version) VALUES ({1}, {2}, 1) RETURNING id",
    "remind": "INSERT INTO floor_jobs (dedupe_key, release_id, due_at) VALUES ({1}, {2}, {3}) "
    "ON CONFLICT (dedupe_key) DO UPDATE SET due_at = excluded.due_at",
    "head": "SELECT hash FROM floor_events WHERE team_id = {1} ORDER BY id DESC LIMIT 1",
    "append": "INSERT INTO floor_events (team_id, release_id, action, details, prev_hash, hash) "
    "VALUES ({1}, {2}, 'approved', '{{}}', {3}, {4})",
    "owe": "INSERT INTO floor_outbox (release_id, payload, status) VALUES ({1}, {2}, 'pending')",
}
# PostgreSQL: the audit event and the outbox rows in one statement.
APPEND_AND_OWE = (
    "WITH event AS (" + SQL["append"].format(*(f"${i}" for i in range(5))) + ") "
    "INSERT INTO floor_outbox (release_id, payload, status) SELECT $2, p, 'pending' FROM unnest($5::text[]) AS p"
)
Write = Callable[[str, int], Awaitable[None]]  # the kind (approve, propose) and the messages it owes
Close = Callable[[], Awaitable[None]]


def _sql(postgres: bool) -> dict[str, str]:
    marks = [f"${i}" if postgres else "?" for i in range(5)]
    return {name: text.format(*marks) for name, text in SQL.items()}


async def open_writer(url: str, payload: str) -> tuple[Write, Close]:
    """The writes for `url` (`postgresql://…`, else a SQLite file's path), each owing messages of `payload` (JSON),
    and how to close what they opened."""
    if url.startswith("postgresql://"):
        return await _postgres(url, payload)
    return _sqlite(url, payload)


def _link(previous: str, n: int) -> str:
    """The event's hash, chained to the one before it (as the audit trail's, over a short encoding)."""
    return hashlib.sha256(f"{previous}|{TEAM}|{n}|approved|{{}}".encode()).hexdigest()


def _turn(n: int) -> tuple[int, str, str]:
    return n % RELEASES + 1, f"U{n % 7}", datetime.now(UTC).isoformat()


async def _postgres(dsn: str, payload: str) -> tuple[Write, Close]:
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
    async with pool.acquire() as connection:
        for statement in SCHEMA:
            await connection.execute(statement.format(serial="BIGSERIAL"))
        if not await connection.fetchval("SELECT count(*) FROM floor_releases"):
            await connection.execute(
                "INSERT INTO floor_releases (team_id, service, version) "
                "SELECT $1, 'floor', 1 FROM generate_series(1, $2)",
                TEAM,
                RELEASES,
            )
    sql, turns = _sql(True), itertools.count()
    # The lock on the workspace's chain and its head in one statement, as Shipmate's `audit_chain_head()`.
    head = f"SELECT pg_advisory_xact_lock(1, hashtext($1)), ({sql['head']})"

    async def write(kind: str, messages: int) -> None:
        n = next(turns)
        release, user, now = _turn(n)
        async with pool.acquire() as connection, connection.transaction():
            if kind == "approve":
                await connection.fetchrow(sql["lock"] + " FOR UPDATE", release, TEAM)
                await connection.fetch(sql["decisions"], release)
                await connection.execute(sql["decide"], release, user, now)
                await connection.execute(sql["version"], release)
            else:
                release = await connection.fetchval(sql["insert"], TEAM, f"floor{n}")
                await connection.executemany(sql["remind"], [(f"{release}:{i}", release, now) for i in range(3)])
            previous = (await connection.fetchrow(head, TEAM))[1] or ""
            await connection.execute(APPEND_AND_OWE, TEAM, release, previous, _link(previous, n), [payload] * messages)

    return write, pool.close


def _sqlite(path: str, payload: str) -> tuple[Write, Close]:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    for statement in SCHEMA:
        connection.execute(statement.format(serial="INTEGER"))
    if not connection.execute("SELECT count(*) FROM floor_releases").fetchone()[0]:
        connection.executemany(
            "INSERT INTO floor_releases (team_id, service, version) VALUES (?, 'floor', 1)", [(TEAM,)] * RELEASES
        )
    sql, turns = _sql(False), itertools.count()

    async def write(kind: str, messages: int) -> None:  # nothing waits: the writer is on the loop, as Shipmate's
        n = next(turns)
        release, user, now = _turn(n)
        connection.execute("BEGIN IMMEDIATE")
        try:
            if kind == "approve":
                connection.execute(sql["lock"], (release, TEAM)).fetchone()
                connection.execute(sql["decisions"], (release,)).fetchall()
                connection.execute(sql["decide"], (release, user, now))
                connection.execute(sql["version"], (release,))
            else:
                release = connection.execute(sql["insert"], (TEAM, f"floor{n}")).fetchone()[0]
                connection.executemany(sql["remind"], [(f"{release}:{i}", release, now) for i in range(3)])
            found: Any = connection.execute(sql["head"], (TEAM,)).fetchone()
            previous = found[0] if found else ""
            connection.execute(sql["append"], (TEAM, release, previous, _link(previous, n)))
            connection.executemany(sql["owe"], [(release, payload)] * messages)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    async def close() -> None:
        connection.close()

    return write, close
