"""The async engine and sessions. SQLite gets WAL, foreign keys and serialised writers; PostgreSQL a pool.

`quick_read()` is for short indexed reads on a person's request path (list, show, history, App Home, status). On
SQLite it reads through `sqlite3` on the event loop (`storage/sqlite_in_loop.py`); on PostgreSQL through an
autocommit, read-only connection (no BEGIN/COMMIT round trips; READ COMMITTED gives each statement its own snapshot
anyway).
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, Executable, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.util import await_
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.errors import Busy
from storage import sqlite_in_loop, write_tx
from storage.pg_rows import DirectRows

# What `Database.quick_rows()`, `write_rows()` and `rows_of()` give (core statements only): a connection whose
# statements that run often run on the driver itself (`storage/plans.py`: asyncpg on PostgreSQL, `DirectRows`;
# `sqlite3` used straight from the event loop on SQLite, `InLoopRows`), or, outside those engines, the bare one.
Rows = AsyncConnection | sqlite_in_loop.InLoopRows | DirectRows
# What a read runs on: a session, or those rows.
Reader = AsyncSession | Rows
# What a write's core statements run on: `transaction()`'s session, or `write_rows()`'s connection.
Writer = AsyncSession | Rows


ENQUEUED = "shipmate_enqueued_listeners"  # a write session's info: who `outbox.enqueue` wakes at commit
_ROWS = "shipmate_rows"
_BOUND = object()  # `_ROWS` of a write transaction's session: the rows of the connection it is bound to


async def rows_of(reader: Reader) -> Rows:
    """The connection a session's core statements run on (as `session.connection()`: no autoflush), kept with the
    session's transaction: the first call asks the session, later ones cost nothing. Its planned statements run on
    the driver itself once the transaction has begun (`_in_transaction`)."""
    if isinstance(reader, AsyncConnection | sqlite_in_loop.InLoopRows | DirectRows):
        return reader
    kept: tuple[object, Rows] | None = reader.info.get(_ROWS)
    if kept is not None and kept[0] is _BOUND:  # a write transaction's session: its connection's rows
        return kept[1]
    transaction = reader.sync_session.get_transaction()
    if kept is not None and kept[0] is transaction and transaction is not None:
        return kept[1]
    rows = _in_transaction(await reader.connection())
    reader.info[_ROWS] = (reader.sync_session.get_transaction(), rows)
    return rows


def _in_transaction(connection: AsyncConnection) -> Rows:
    """A transaction's connection as the rows its core statements run on: those `storage/plans.py` plans on the
    driver itself (asyncpg, `storage/pg_rows.py`; `sqlite3` on the event loop, `storage/sqlite_in_loop.py`)."""
    if connection.dialect.name == "postgresql":
        return DirectRows(connection, transaction=True)
    return sqlite_in_loop.in_loop(connection)


def at_commit(sync_session: Session, statement: Executable, parameters: Any) -> Any:
    """Run a core statement from a hook run before a write transaction's COMMIT (`storage/write_tx.py`: the appends
    owed, the audit chain's head; on PostgreSQL inside SQLAlchemy's greenlet), on the rows of the connection the
    transaction's session is bound to (their statements run on the driver itself, `storage/plans.py`)."""
    rows: Rows = sync_session.info[_ROWS][1]
    if isinstance(rows, sqlite_in_loop.InLoopRows):
        return rows.run(statement, parameters)
    return await_(rows.execute(statement, parameters))


SQLITE_BUSY_TIMEOUT_MS = 30_000
WAL_ATTEMPTS = 100  # ≈5 s of converting the file to WAL while other connections do (see `_in_wal`)

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


def _in_wal(cursor: Any) -> None:
    """Put the file in WAL mode, once. Converting takes an exclusive lock, and SQLite answers "database is locked"
    at once, without its busy handler, to a conversion that meets another one or a writer (the first connections of
    a process on a fresh database do): it asks again shortly, without holding up the event loop."""
    for _ in range(WAL_ATTEMPTS - 1):
        try:
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as error:  # the driver's OperationalError, as the async adapter raises it
            if "locked" not in str(error):
                raise
            await_(asyncio.sleep(0.05))  # inside SQLAlchemy's greenlet: the event loop goes on meanwhile
    cursor.execute("PRAGMA journal_mode=WAL")


def _sqlite_engine(url: str, *, writer: bool) -> AsyncEngine:
    # Every session ends its transaction itself (commit or rollback), so a connection needs no reset on return:
    # on SQLite that reset is one more thread hop through aiosqlite per transaction.
    engine = create_async_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, pool_reset_on_return=None
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        _in_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock up front, so read-modify-write in a service cannot lose an update.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


IDLE_PING_SECONDS = 10.0


def _postgres_engine(
    url: str, *, pool_size: int, isolation_level: str | None = None, server_settings: dict[str, str] | None = None
) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        connect_args={"timeout": 5, "command_timeout": 30, "server_settings": server_settings or {}},
        **({"isolation_level": isolation_level} if isolation_level else {}),
    )
    _check_on_checkout(engine)
    return engine


def _check_on_checkout(engine: AsyncEngine) -> None:
    """In place of `pool_pre_ping`, which costs a round trip on every checkout (three outside a transaction: BEGIN,
    the ping, ROLLBACK): a connection the server closed (a restart ends every session) is known closed without
    asking, and only one idle for a while is pinged. A failed check discards it and the pool takes another."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this connection")
        if time.monotonic() - record.info.get("idle_since", float("inf")) > IDLE_PING_SECONDS:
            try:
                dbapi_connection.ping()
            except Exception as exc:
                raise DisconnectionError("the connection did not answer") from exc


class Database:
    """One per process. `transaction()` for use cases that write; `read()` for those that only look."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        if self.dialect == "sqlite":
            self.engine = sqlite_in_loop.writer(self.url)
            self.read_engine = _sqlite_engine(self.url, writer=False)
            self.quick_engine = sqlite_in_loop.engine(self.url)
            self.rows_engine: Engine | None = sqlite_in_loop.rows_engine(self.url)
        else:
            self.engine = _postgres_engine(self.url, pool_size=pool_size)
            self.read_engine = self.engine
            # Reads that need no transaction: autocommit, each statement its own snapshot as in READ COMMITTED.
            self.quick_engine = _postgres_engine(
                self.url,
                pool_size=2 * pool_size,  # a burst of reads past the pool would open and close connections
                isolation_level="AUTOCOMMIT",
                server_settings={"default_transaction_read_only": "on"},  # it only reads
            )
            self.rows_engine = None
        # SQLite has one writer at a time. Writers of this process queue here, in order, instead of in SQLite's busy
        # handler, which sleeps up to 100 ms between tries: under load that convoy was the tail of every write.
        # (Other processes still meet the busy handler; `BEGIN IMMEDIATE` keeps them correct.)
        self._write_turn = asyncio.Lock() if self.dialect == "sqlite" else None
        self._turn_holder: asyncio.Task[object] | None = None
        self._writer = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._reader = async_sessionmaker(self.read_engine, class_=AsyncSession, expire_on_commit=False)
        self._quick = async_sessionmaker(self.quick_engine, class_=AsyncSession, expire_on_commit=False)
        self._wal_ready = self.dialect != "sqlite"
        # Write transactions this process has ended (committed or not), and those of them that were not bookkeeping
        # (claiming jobs or outbox messages, marking them sent: nothing kept is read from that). What it read and
        # kept stays good while `changes_ended` stays the same (other processes' writes are for the keeper's time
        # limit to cover).
        self.writes_ended = 0
        self.changes_ended = 0
        self._enqueued: list[Callable[[set[str]], None]] = []

    def on_enqueued(self, listener: Callable[[set[str]], None]) -> None:
        """Call `listener(kinds)` right after each write transaction that committed outbox messages, with their
        kinds (`storage/repositories/outbox.py`): their dispatcher sends them at once, not at its next poll."""
        self._enqueued.append(listener)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(self, *, bookkeeping: bool = False) -> AsyncIterator[AsyncSession]:
        """Commit on success, roll back on any exception. Repositories never commit; this does. Never nested.
        On SQLite, raises `Busy` when the current task's `writes_wait_at_most` passes before its turn comes.
        `bookkeeping`: the write changes only how work is handed out and delivered (claims of jobs and outbox
        messages, their marks, retries and hand-backs, where a card was posted), which nothing kept for readers is
        read from, so it leaves `changes_ended` as it is."""
        async with self._turn(bookkeeping), write_tx.begun(self.engine) as begun:
            session = self._writer(bind=begun.connection, join_transaction_mode="rollback_only")
            session.info[_ROWS] = (_BOUND, begun.rows)
            session.info[ENQUEUED] = self._enqueued
            try:
                yield session
                await begun.commit(session)
            finally:
                await begun.close(session)
            write_tx.committed(session)

    @asynccontextmanager
    async def write_rows(self, *, bookkeeping: bool = False) -> AsyncIterator[Rows]:
        """`transaction()` for core statements only: the connection itself, without a session around it (on
        SQLite used from the event loop, `sqlite_in_loop.in_loop`). For writes that run many times a second (the
        outbox's claims and marks)."""
        async with self._turn(bookkeeping), write_tx.begun(self.engine) as begun:
            yield begun.rows
            await begun.commit()

    @asynccontextmanager
    async def _turn(self, bookkeeping: bool = False) -> AsyncIterator[None]:
        """A write's turn: on SQLite, after this process's other writers (see `__init__`); counted when it ends,
        unless it was bookkeeping."""
        if self._write_turn is None:
            try:
                yield
            finally:
                self._ended(bookkeeping)
            return
        try:
            async with asyncio.timeout(_write_wait.get()):
                await self._write_turn.acquire()
        except TimeoutError:
            raise Busy() from None
        try:
            yield
        finally:
            self._ended(bookkeeping)
            self._write_turn.release()

    def _ended(self, bookkeeping: bool) -> None:
        self.writes_ended += 1
        if not bookkeeping:
            self.changes_ended += 1

    @asynccontextmanager
    async def write_turn(self) -> AsyncIterator[None]:
        """For writes that open their own connection on `engine` (slack_sdk's installation store): they take their
        turn with this process's other writers, as `transaction()` does (SQLite; nothing to wait for on PostgreSQL)."""
        if self._write_turn is None:
            yield
            return
        async with self._write_turn:
            self._turn_holder = asyncio.current_task()
            try:
                yield
            finally:
                self._turn_holder = None

    def holds_write_turn(self) -> bool:
        return self._write_turn is not None and self._turn_holder is asyncio.current_task()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._reader() as session, session.begin():
            yield session

    @asynccontextmanager
    async def quick_read(self) -> AsyncIterator[AsyncSession]:
        """For a few short indexed reads (see the module's docstring); longer reads (aggregates, exports) go through
        `read()`, which does not hold up the event loop on SQLite. Never write through it."""
        await self._ensure_wal()
        async with self._quick() as session, session.begin():
            yield session

    @asynccontextmanager
    async def quick_rows(self) -> AsyncIterator[Rows]:
        """`quick_read()` for core statements only (plain rows, no ORM objects): the connection itself, without a
        session around it, which costs more CPU than a short indexed read. On SQLite it runs without the async
        engine either (`sqlite_in_loop.rows_engine`) and its reads share one snapshot; on PostgreSQL its selects run
        on asyncpg itself (`storage/pg_rows.py`), autocommit, each with its own snapshot."""
        await self._ensure_wal()
        if self.rows_engine is not None:
            with self.rows_engine.connect() as rows:
                yield sqlite_in_loop.InLoopRows(rows)  # closing it ends the read transaction it began
            return
        async with self.quick_engine.connect() as connection:
            yield DirectRows(connection)

    async def _ensure_wal(self) -> None:
        if not self._wal_ready:
            # An aiosqlite connection puts the file in WAL mode first: only in WAL does a reader on the event loop
            # never wait for a writer (and converting it takes a lock that a writer may hold).
            async with self.read_engine.connect():
                self._wal_ready = True

    def engines(self) -> dict[str, AsyncEngine | Engine]:
        """The engines by role (SQLite: a writer, a reader, the quick reader and its rows on the event loop;
        PostgreSQL: one pooled engine for both writes and reads, and the quick reader's)."""
        if self.rows_engine is None:
            return {"main": self.engine, "quick": self.quick_engine}
        return {"writer": self.engine, "reader": self.read_engine, "quick": self.quick_engine, "rows": self.rows_engine}

    async def ping(self) -> None:
        async with self.read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        for engine in self.engines().values():
            if isinstance(engine, AsyncEngine):
                await engine.dispose()
            else:
                engine.dispose()
