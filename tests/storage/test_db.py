"""`Database.quick_read()` and `quick_rows()` (SQLite: sqlite3 on the event loop; PostgreSQL: autocommit) under
concurrent writes, on SQLite and PostgreSQL: they never wait for a writer, never see part of a transaction, see every
commit made before they start, and read only the workspace they name."""

import asyncio
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from storage.db import Database, Reader, rows_of
from storage.models import Release
from storage.repositories import audit
from storage.repositories import releases as releases_repo

TEAM = "T0TEAM"
OTHER = "T0OTHER"
WRITES = 30


def _release(team: str, version: str) -> Release:
    service = f"svc-{team.lower()}"  # each workspace its own service: a read that strayed would show
    return Release(team_id=team, service=service, version=version, summary="x", proposer_id="U0A", channel_id="C")


@pytest.fixture(params=["session", "rows"])
def quick(request: pytest.FixtureRequest, db: Database) -> Callable[[], AbstractAsyncContextManager[Reader]]:
    """Either quick reader: `quick_read()` (a session) or `quick_rows()` (core statements only)."""
    return db.quick_read if request.param == "session" else db.quick_rows


Quick = Callable[[], AbstractAsyncContextManager[Reader]]


async def _versions(quick: Quick, team: str) -> list[str]:
    async with quick() as reader:
        lines = await releases_repo.recent_lines(session=reader, team_id=team, limit=1000)
    return [line.version for line in lines]


async def test_a_quick_read_does_not_wait_for_an_open_write_nor_see_it(db: Database, quick: Quick) -> None:
    async with db.transaction() as session:
        session.add(_release(TEAM, "1.0.0"))
    holding, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as session:  # SQLite: BEGIN IMMEDIATE, the write lock held until commit
            session.add(_release(TEAM, "2.0.0"))
            await session.flush()
            holding.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await holding.wait()
    try:
        # A reader that waited for the writer would never finish: the writer waits for this read.
        assert await asyncio.wait_for(_versions(quick, TEAM), timeout=10) == ["1.0.0"]
    finally:
        release.set()
        await task
    assert await _versions(quick, TEAM) == ["2.0.0", "1.0.0"]  # committed before this read began: seen


async def test_quick_reads_see_whole_transactions_of_concurrent_writers_in_their_workspace_only(
    db: Database, quick: Quick
) -> None:
    """Each write adds a release and its audit event in one transaction, yielding to the readers in between; each
    read lists the releases and reads the newest ones' trails. A release without its event would be half a
    transaction."""
    done = asyncio.Event()
    seen: list[list[int]] = [[], [], []]  # per reader: how many releases each of its reads listed

    async def writer(team: str) -> None:
        for n in range(WRITES):
            async with db.transaction() as session:
                session.add(release := _release(team, f"1.{n}.0"))
                await session.flush()
                await asyncio.sleep(0)  # a reader runs while the release is written and its event is not
                audit.record(session, release, "U0A", "proposed", n=n)
            await asyncio.sleep(0)

    async def reader(counts: list[int]) -> None:
        while not done.is_set():
            async with quick() as reader:
                lines = await releases_repo.recent_lines(session=reader, team_id=TEAM, limit=1000)
                for line in lines[:3]:  # the newest: where a write in flight would show
                    trail = await (await rows_of(reader)).execute(_TRAIL, {"team": TEAM, "release": line.id})
                    assert [row[0] for row in trail.all()] == ["proposed"], line
            assert {line.service for line in lines} <= {"svc-t0team"}
            counts.append(len(lines))
            await asyncio.sleep(0)

    readers = [asyncio.create_task(reader(counts)) for counts in seen]
    try:
        await asyncio.gather(writer(TEAM), writer(OTHER))
    finally:
        done.set()
        await asyncio.gather(*readers)
    for counts in seen:
        assert counts == sorted(counts)  # each read sees at least what the one before it saw
        assert len(set(counts)) > 1  # the reads overlapped the writes
    assert len(await _versions(quick, TEAM)) == len(await _versions(quick, OTHER)) == WRITES


_TRAIL = text("SELECT action FROM audit_events WHERE team_id = :team AND release_id = :release ORDER BY id")


async def test_a_quick_read_is_a_reader(quick: Quick) -> None:
    """A write through it fails loudly (SQLite `query_only`, PostgreSQL read-only transactions) instead of skipping
    the writers' turn."""
    with pytest.raises(DBAPIError, match=r"(?i)read.only|readonly"):
        async with quick() as reader:
            await (await rows_of(reader)).execute(text("DELETE FROM releases"))


async def test_connections_the_server_closed_are_replaced_without_an_error(db: Database, database_url: str) -> None:
    """PostgreSQL: no round trip checks a connection on every checkout; one the server ended (a restart, an admin)
    is known closed and replaced, for reads and writes alike."""
    if not db.is_postgres:
        pytest.skip("SQLite has no server to close connections")

    async def backend_pids() -> set[int]:
        async with db.quick_read() as session:
            quick = (await (await session.connection()).execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with db.quick_rows() as rows:  # a core select: run on asyncpg itself (`storage/pg_rows.py`)
            plain = (await rows.execute(select(func.pg_backend_pid()))).scalar_one()
        async with db.transaction() as session:
            main = (await (await session.connection()).execute(text("SELECT pg_backend_pid()"))).scalar_one()
        return {int(quick), int(plain), int(main)}

    before = await backend_pids()
    admin = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for pid in before:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)  # the sockets' ends reach this process
    after = await backend_pids()
    assert after.isdisjoint(before)


async def test_the_first_connection_to_a_fresh_database_waits_for_a_writer_to_convert_it(
    database_url: str, tmp_path: Path
) -> None:
    """SQLite: a fresh database is in rollback-journal mode and the first connections put it in WAL. SQLite refuses
    that conversion at once, without its busy handler, while another connection writes (the app's own writer at
    start-up, or another process): the connection asks again until it gets in."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no journal mode to convert")
    path = tmp_path / "fresh.db"
    shutil.copy(database_url.split("///", 1)[1], path)
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # another connection in the middle of a write, in rollback-journal mode
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        asyncio.get_running_loop().call_later(0.3, writer.execute, "COMMIT")
        async with db.read() as session:
            assert await releases_repo.recent_lines(session=session, team_id=TEAM) == []
        assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        writer.close()
        await db.dispose()
