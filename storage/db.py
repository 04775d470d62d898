"""The async engine and sessions. SQLite gets WAL, foreign keys and serialised writers; PostgreSQL a pool.

`quick_read()` is for short indexed reads on a person's request path (list, show, history, App Home, status). On
SQLite it runs a plain `sqlite3` connection on the event loop: a WAL reader never waits for the writer, and each
statement through aiosqlite costs several thread hops, more CPU than SQLite takes to answer. On PostgreSQL it is an
autocommit connection (no BEGIN/COMMIT round trips; READ COMMITTED gives each statement its own snapshot anyway).
"""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, Pool
from sqlalchemy.util import await_
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.errors import Busy

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A WAL reader waits only in rare moments (another connection recovering the WAL): on the event loop, briefly.
IN_LOOP_BUSY_TIMEOUT_MS = 2_000

# How long a write may wait for its turn at SQLite's writer lock in the current task (None: as long as it takes).
# Requests set it (see `writes_wait_at_most`): a person's write that would queue longer is refused as busy rather
# than joining a queue that only grows under a flood; the dispatcher and the scheduler wait their turn.
_write_wait: ContextVar[float | None] = ContextVar("write_wait", default=None)


@contextmanager
def writes_wait_at_most(seconds: float | None) -> Iterator[None]:
    token = _write_wait.set(seconds)
    try:
        yield
    finally:
        _write_wait.reset(token)


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (`postgres://`, `postgresql://`, `sqlite:///`) and pick the async driver."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


class InLoopSQLiteDialect(SQLiteDialect_pysqlite):
    """The standard library's `sqlite3` driver behind an `AsyncEngine`: statements run right where they are
    awaited, on the event loop, with no thread in between (`greenlet_spawn` finds nothing to wait for)."""

    is_async = True
    supports_statement_cache = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[Pool]:
        return AsyncAdaptedQueuePool

    # `AsyncConnection.execute` checks that the driver awaited something: a statement that never had to wait
    # says so by awaiting a coroutine that is already done (a greenlet switch, no trip through the event loop).
    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        await_(_done())
        cursor.execute(statement, parameters)

    def do_execute_no_params(self, cursor: Any, statement: str, context: Any = None) -> None:
        await_(_done())
        cursor.execute(statement)


async def _done() -> None:
    return None


class _InLoopCursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """Called by `AsyncConnection.execute` on an async driver's cursor; sqlite3's keeps its rows readable."""


class _InLoopConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _InLoopCursor) -> Any:
        return super().cursor(factory)


registry.register("sqlite.inloop", __name__, "InLoopSQLiteDialect")


def _sqlite_engine(url: str, *, writer: bool, in_loop: bool = False) -> AsyncEngine:
    # Every session ends its transaction itself (commit or rollback), so a connection needs no reset on return:
    # on SQLite that reset is one more thread hop through aiosqlite per transaction.
    busy_ms = IN_LOOP_BUSY_TIMEOUT_MS if in_loop else SQLITE_BUSY_TIMEOUT_MS
    if in_loop:
        url = url.replace("sqlite+aiosqlite://", "sqlite+inloop://", 1)
    connect_args: dict[str, Any] = {"timeout": busy_ms / 1000}
    if in_loop:
        connect_args["factory"] = _InLoopConnection
    engine = create_async_engine(url, connect_args=connect_args, pool_reset_on_return=None)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        if in_loop:  # a write here would skip the writers' turn and wait for SQLite's lock on the event loop
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock up front, so read-modify-write in a service cannot lose an update.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


class Database:
    """One per process. `transaction()` for use cases that write; `read()` for those that only look."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(self.url, writer=True)
            self.read_engine = _sqlite_engine(self.url, writer=False)
            self.quick_engine = _sqlite_engine(self.url, writer=False, in_loop=True)
        else:
            self.engine = create_async_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_recycle=1800,
                connect_args={"timeout": 5, "command_timeout": 30},
            )
            self.read_engine = self.engine
            # Its own pool, so that the pre-ping is one round trip (outside a transaction) instead of three.
            self.quick_engine = create_async_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_recycle=1800,
                isolation_level="AUTOCOMMIT",
                connect_args={
                    "timeout": 5,
                    "command_timeout": 30,
                    "server_settings": {"default_transaction_read_only": "on"},  # it only reads
                },
            )
        # SQLite has one writer at a time. Writers of this process queue here, in order, instead of in SQLite's busy
        # handler, which sleeps up to 100 ms between tries: under load that convoy was the tail of every write.
        # (Other processes still meet the busy handler; `BEGIN IMMEDIATE` keeps them correct.)
        self._write_turn = asyncio.Lock() if self.dialect == "sqlite" else None
        self._writer = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._reader = async_sessionmaker(self.read_engine, class_=AsyncSession, expire_on_commit=False)
        self._quick = async_sessionmaker(self.quick_engine, class_=AsyncSession, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Commit on success, roll back on any exception. Repositories never commit; this does. Never nested.
        On SQLite, raises `Busy` when the current task's `writes_wait_at_most` passes before its turn comes."""
        if self._write_turn is None:
            async with self._writer() as session, session.begin():
                yield session
            return
        try:
            async with asyncio.timeout(_write_wait.get()):
                await self._write_turn.acquire()
        except TimeoutError:
            raise Busy() from None
        try:
            async with self._writer() as session, session.begin():
                yield session
        finally:
            self._write_turn.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._reader() as session, session.begin():
            yield session

    @asynccontextmanager
    async def quick_read(self) -> AsyncIterator[AsyncSession]:
        """For a few short indexed reads (see the module's docstring); longer reads (aggregates, exports) go through
        `read()`, which does not hold up the event loop on SQLite. Never write through it."""
        async with self._quick() as session, session.begin():
            yield session

    def engines(self) -> dict[str, AsyncEngine]:
        """The engines by role (SQLite: a writer, a reader and the quick reader; PostgreSQL: one pooled engine for
        both writes and reads, and the quick reader's)."""
        if self.read_engine is self.engine:
            return {"main": self.engine, "quick": self.quick_engine}
        return {"writer": self.engine, "reader": self.read_engine, "quick": self.quick_engine}

    async def ping(self) -> None:
        async with self.read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        for engine in self.engines().values():
            await engine.dispose()
