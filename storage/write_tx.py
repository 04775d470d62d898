"""A write transaction: its connection, begun; the session a use case writes through; and its commit.

The connection: on SQLite the writer's own, used straight from the event loop (its driver never waits, see
`storage/sqlite_in_loop.py`), so its checkout, `BEGIN IMMEDIATE`, `COMMIT` and return to the pool cost no greenlet;
while another process holds SQLite's lock, `BEGIN IMMEDIATE` is tried again after an asynchronous sleep. On
PostgreSQL a pooled connection.

The session (`Database.transaction()`) is bound to that connection and only joins its transaction
(`join_transaction_mode="rollback_only"`): a change made of core statements (`storage.db.rows_of`) and appends
never starts the ORM's own transaction, and one that loads or changes ORM objects has them flushed before the
commit. The commit is the connection's, between the hooks registered here: the rows a transaction owes are written
right before it, inside it (`storage/repositories/appends.py`), and the change feed is told right after it
(`bot/services/kernel/change_feed.py`).
"""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import greenlet_spawn
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import sqlite_in_loop
from storage.pg_rows import DirectRows

CommitHook = Callable[[Session], None]
_BEFORE_COMMIT: list[CommitHook] = []
_AFTER_COMMIT: list[CommitHook] = []


def before_commit(hook: CommitHook) -> CommitHook:
    """Run `hook` in every write transaction right before its COMMIT, inside it; it gets the transaction's
    session, whose `info` holds what it owes, and returns at once when it owes nothing."""
    _BEFORE_COMMIT.append(hook)
    return hook


def after_commit(hook: CommitHook) -> CommitHook:
    """Run `hook` right after every write transaction that committed (never after one rolled back)."""
    _AFTER_COMMIT.append(hook)
    return hook


class Begun:
    """A write transaction's connection, its transaction begun, and the rows its core statements run on."""

    def __init__(self, connection: AsyncConnection, rows: "DirectRows | sqlite_in_loop.InLoopRows") -> None:
        self.connection = connection
        self.rows = rows
        self.in_loop = isinstance(rows, sqlite_in_loop.InLoopRows)

    @property
    def _sync(self) -> Connection:
        return self.connection.sync_connection  # type: ignore[return-value]  # set: it is a begun connection

    async def commit(self, session: AsyncSession | None = None) -> None:
        """Flush what the session holds changed, run the hooks owed before the COMMIT, and commit."""
        if session is not None and (session.new or session.dirty or session.deleted):
            await session.flush()
        owing = session.sync_session if session is not None else None
        if self.in_loop:
            self._commit(owing)
        else:  # the hooks' statements and the COMMIT wait on asyncpg: inside one of SQLAlchemy's greenlets
            await greenlet_spawn(self._commit, owing)

    def _commit(self, owing: Session | None) -> None:
        if owing is not None:
            _run(_BEFORE_COMMIT, owing)
        self._sync.commit()

    async def rollback(self) -> None:
        if not self._sync.in_transaction():
            return
        if self.in_loop:
            self._sync.rollback()
        else:
            await self.connection.rollback()

    async def close(self, session: AsyncSession) -> None:
        """End the session (the connection's transaction is left as it is: committed or rolled back)."""
        if self.in_loop:
            session.sync_session.close()  # nothing in it waits
        else:
            await session.close()


def committed(session: AsyncSession) -> None:
    _run(_AFTER_COMMIT, session.sync_session)


def _run(hooks: list[CommitHook], sync_session: Session) -> None:
    for hook in hooks:
        hook(sync_session)


@asynccontextmanager
async def begun(engine: AsyncEngine) -> AsyncIterator[Begun]:
    """A connection of `engine` with its transaction begun, rolled back if the block raises (the block commits),
    and returned to the pool."""
    async with _connection(engine) as connection:
        try:
            yield connection
        except BaseException:
            await connection.rollback()
            raise


@asynccontextmanager
async def _connection(engine: AsyncEngine) -> AsyncIterator[Begun]:
    if isinstance(engine.dialect, sqlite_in_loop.InLoopSQLiteDialect):
        # Nothing below waits: the event loop runs once first, so a run of writes (a sweep through due jobs,
        # each in its own transaction) lets the requests in between instead of holding the loop to its end.
        await asyncio.sleep(0)
        connect, pool = engine.sync_engine.connect, engine.sync_engine.pool
        # One writer at a time: an idle connection is there but for the first (whose making locks, awaiting).
        idle = isinstance(pool, QueuePool) and pool.checkedin() > 0
        with connect() if idle else await greenlet_spawn(connect) as sync:
            await _begin_immediate(sync)
            yield Begun(AsyncConnection(engine, sync), sqlite_in_loop.InLoopRows(sync))
        return
    async with engine.connect() as connection:
        await connection.begin()
        await _begin_on_asyncpg(connection)
        yield Begun(connection, DirectRows(connection, transaction=True))


async def _begin_on_asyncpg(connection: AsyncConnection) -> None:
    """Send `BEGIN` now, from the event loop. SQLAlchemy's adaptation of asyncpg sends it lazily, with the first
    statement, which would then have to go through the engine (a greenlet, its cursor); begun, every statement of
    the transaction runs on asyncpg itself (`storage/pg_rows.py`)."""
    adapted: Any = (await connection.get_raw_connection()).dbapi_connection
    if getattr(adapted, "_transaction", True) is not None:
        return
    try:
        await adapted._start_transaction()  # the adapter's own start: its isolation level, its errors
    except Exception as error:  # as the engine would raise it, and the connection is not used again
        await connection.invalidate()
        raise DBAPIError.instance("BEGIN", (), error, adapted.dbapi.Error) from error


async def _begin_immediate(sync: Connection) -> None:
    """`BEGIN IMMEDIATE`, then SQLAlchemy's transaction around it (the writer's "begin" listener sees it begun).
    While another process holds the lock, sleep asynchronously and try again, for `WRITE_BUSY_SECONDS`."""
    driver = sync.connection.driver_connection
    waits = sqlite_in_loop.pauses()
    while True:
        try:
            driver.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
            break
        except sqlite3.OperationalError as error:
            pause = next(waits, None) if sqlite_in_loop.busy(error) else None
            if pause is None:
                raise DBAPIError.instance("BEGIN IMMEDIATE", (), error, sqlite3.Error) from error
        await asyncio.sleep(pause)
    sync.begin()
