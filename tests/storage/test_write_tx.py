"""`Database.transaction()` (storage/write_tx.py), on SQLite and PostgreSQL: one transaction for what its core
statements, its ORM objects and its appends write, committed together or not at all, with the commit hooks run
inside it (before) and once it has committed (after), never for a transaction that rolled back."""

import asyncio
from collections.abc import Hashable

import asyncpg
import pytest
from sqlalchemy import Table, func, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from bot.services.kernel.change_feed import ChangeFeed
from storage.db import Database, rows_of
from storage.models import AuditEvent, Release
from storage.models.tables import table_of
from storage.repositories import audit
from storage.repositories import releases as releases_repo

TEAM = "T0TEAM"
RELEASES = table_of(Release)
AUDIT = table_of(AuditEvent)


def _release(version: str) -> Release:
    return Release(team_id=TEAM, service="api", version=version, summary="x", proposer_id="U0A", channel_id="C")


async def _count(db: Database, table: Table) -> int:
    async with db.quick_rows() as rows:
        return int((await rows.execute(core_select(func.count()).select_from(table))).scalar_one())


async def test_core_statements_orm_objects_and_appends_share_one_transaction(db: Database) -> None:
    async with db.transaction() as session:
        session.add(_release("1.0.0"))
    async with db.transaction() as session:
        release = await releases_repo.lock(session=session, team_id=TEAM, service="api", version="1.0.0")
        assert release is not None
        release.summary = "changed through the ORM"  # flushed before the commit
        core = update(RELEASES).where(RELEASES.c.id == release.pk).values(risk="high")
        await (await rows_of(session)).execute(core)
        orm_sees = (await session.exec(select(Release.risk).where(col(Release.id) == release.pk))).one()
        assert orm_sees == "high"  # the ORM reads on the connection the core statement wrote on
        audit.record(session, release, "U0A", "edited", field="summary")
    async with db.quick_read() as reader:
        stored = (await reader.exec(select(Release).where(col(Release.id) == release.pk))).one()
    assert (stored.summary, stored.risk) == ("changed through the ORM", "high")
    assert await _count(db, AUDIT) == 1


async def test_a_failed_transaction_writes_nothing_and_tells_no_one(db: Database) -> None:
    feed, told = ChangeFeed(), list[set[Hashable]]()
    feed.subscribe(lambda keys: told.append(set(keys)))

    async def proposal_that_fails() -> None:
        async with db.transaction() as session:
            release = await releases_repo.insert_new(session, team_id=TEAM, service="api", version="2.0.0",
                                                     summary="x", proposer_id="U0A", channel_id="C")  # fmt: skip
            assert release is not None
            audit.record(session, release, "U0A", "proposed")
            feed.after_commit(session, ("release", release.pk))
            raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError):
        await proposal_that_fails()
    assert await _count(db, RELEASES) == 0
    assert await _count(db, AUDIT) == 0
    assert told == []
    async with db.transaction() as session:  # the connection went back to the pool clean
        session.add(_release("2.0.0"))
    assert await _count(db, RELEASES) == 1


async def test_the_change_feed_is_told_once_after_the_commit(db: Database) -> None:
    feed, told = ChangeFeed(), list[set[Hashable]]()
    feed.subscribe(lambda keys: told.append(set(keys)))
    async with db.transaction() as session:
        session.add(_release("3.0.0"))
        await session.flush()
        feed.after_commit(session, ("release", 1))
        feed.after_commit(session, ("release", 1))
        assert told == []  # not before the commit
    assert told == [{("release", 1)}]
    assert await _count(db, RELEASES) == 1


async def test_a_run_of_writes_lets_the_event_loop_serve_others_between_them(db: Database) -> None:
    """On SQLite nothing in a write waits (its driver runs on the event loop): each still lets the loop run once,
    so a sweep through many due jobs, each its own transaction, does not hold the requests up to its end."""
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    before = turns
    for n in range(20):
        async with db.transaction() as session:
            session.add(_release(f"4.0.{n}"))
    other.cancel()
    assert turns - before >= 20


async def test_a_begin_that_fails_raises_as_the_engine_would_and_leaves_the_pool_sound(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's BEGIN is sent before the first statement (`_begin_on_asyncpg`): a connection lost right then is
    SQLAlchemy's error, as from any statement, and that connection is dropped, not handed to the next write."""
    if not db.is_postgres:
        pytest.skip("SQLite begins on the writer's own connection")
    start = asyncpg.transaction.Transaction.start

    failed_on: list[asyncpg.Connection] = []

    async def lost(self: asyncpg.transaction.Transaction) -> None:
        failed_on.append(self._connection)
        raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    async with db.transaction():
        pass  # the engine has connected once (its first connection's set-up runs through SQLAlchemy)
    monkeypatch.setattr(asyncpg.transaction.Transaction, "start", lost)
    with pytest.raises(DBAPIError):
        async with db.transaction() as session:
            session.add(_release("3.0.0"))
    assert failed_on
    assert failed_on[0].is_closed()  # dropped, not handed to the next write
    monkeypatch.setattr(asyncpg.transaction.Transaction, "start", start)
    async with db.transaction() as session:
        session.add(_release("3.0.1"))
    assert await _count(db, RELEASES) == 1
