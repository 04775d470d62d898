"""SQLite on the event loop: the standard library's `sqlite3` driver behind an `AsyncEngine`, for the short
indexed reads of a person's request (`Database.quick_read`) and for every write (`Database.transaction`).

Through aiosqlite every statement is several hops to a worker thread and back, which costs more CPU than SQLite
takes to answer an indexed read or to append a few rows. A reader in WAL mode never waits for the writer, so a read
simply runs where it is awaited; its connections are read-only (`query_only`), never change the journal mode
(converting a database to WAL takes a lock a writer may hold while it waits for the event loop), and wait briefly
when SQLite is busy (recovering its WAL after a crash). The writers of a process take turns before they begin
(`Database._write_turn`), so a write meets SQLite's lock only when another process holds it: then SQLite answers
"busy" at once (`busy_timeout=0`) and the statement is tried again after an asynchronous sleep, so the event loop
goes on serving while it waits.
"""

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Executable, create_engine, event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, Pool, QueuePool
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

from storage import plans

BUSY_TIMEOUT_MS = 2_000
WRITE_BUSY_SECONDS = 30.0  # how long a write waits for another process's lock before it gives up
T = TypeVar("T")


class _Compiler(SQLiteCompiler):
    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:
        return text  # `INDEXED BY …`, asked for with `Select.with_hint(…, dialect_name="sqlite")`


class InLoopSQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite, declared async so that `AsyncEngine` takes it: `greenlet_spawn` runs each statement to the end
    at once, finding nothing to wait for. It writes the index hints statements ask for."""

    is_async = True
    supports_statement_cache = True
    statement_compiler = _Compiler

    @classmethod
    def get_pool_class(cls, url: URL) -> type[Pool]:
        return AsyncAdaptedQueuePool

    # `AsyncConnection.execute` checks that the driver awaited something: a statement that never had to wait
    # says so by awaiting a coroutine that is already done (a greenlet switch, no trip through the event loop).
    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        _patiently(lambda: cursor.execute(statement, parameters))

    def do_execute_no_params(self, cursor: Any, statement: str, context: Any = None) -> None:
        _patiently(lambda: cursor.execute(statement))

    def do_executemany(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        _patiently(lambda: cursor.executemany(statement, parameters))

    def do_commit(self, dbapi_connection: Any) -> None:
        _patiently(dbapi_connection.commit)


async def _done() -> None:
    return None


def busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
        "database is locked" in str(error)
    )


def pauses() -> Iterator[float]:
    """The sleeps between tries while another process holds SQLite's lock, from the first busy answer: from 1 ms,
    doubling up to 50 ms, for `WRITE_BUSY_SECONDS`; then none (give up)."""
    delay, give_up = 0.001, time.monotonic() + WRITE_BUSY_SECONDS
    while time.monotonic() <= give_up:
        yield delay
        delay = min(delay * 2, 0.05)


def _patiently(call: Callable[[], T]) -> T:
    """Run `call` now; while another process holds SQLite's lock, sleep asynchronously and try again. Called
    outside SQLAlchemy's greenlet (a statement through `InLoopRows` in a transaction that has begun, which holds
    its lock already), it runs `call` once."""
    if not in_greenlet():
        return call()
    await_(_done())  # the driver awaits something, as `AsyncConnection` checks
    waits: Iterator[float] | None = None
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not busy(error):
                raise
            waits = waits or pauses()
            pause = next(waits, None)
            if pause is None:
                raise
        await_(asyncio.sleep(pause))


class _Cursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """Called by `AsyncConnection.execute` on an async driver's cursor; sqlite3's keeps its rows readable."""


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)


registry.register("sqlite.inloop", __name__, "InLoopSQLiteDialect")


def writer(url: str) -> AsyncEngine:
    """The engine of this process's writes on the SQLite file of `url`, run on the event loop: WAL, foreign keys,
    and `BEGIN IMMEDIATE`, so a read-modify-write in a use case cannot lose an update."""
    created = create_async_engine(
        url.replace("sqlite+aiosqlite://", "sqlite+inloop://", 1),
        connect_args={"timeout": 0, "factory": _Connection, "check_same_thread": False},
        pool_reset_on_return=None,  # every session ends its transaction itself
    )

    @event.listens_for(created.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        dbapi_connection.execute("PRAGMA busy_timeout=0")  # a busy database is waited for asynchronously
        _patiently(lambda: dbapi_connection.execute("PRAGMA journal_mode=WAL"))
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @event.listens_for(created.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        driver = connection.connection.driver_connection
        if not driver.in_transaction:  # `storage.write_tx` begins it itself, waiting asynchronously
            _patiently(lambda: driver.execute("BEGIN IMMEDIATE"))

    return created


def engine(url: str) -> AsyncEngine:
    """A read-only engine on the SQLite file of `url` (a `sqlite+aiosqlite://` URL), run on the event loop."""
    in_loop = url.replace("sqlite+aiosqlite://", "sqlite+inloop://", 1)
    created = create_async_engine(
        in_loop,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "factory": _Connection},
        pool_reset_on_return=None,  # every session ends its transaction itself
    )

    @event.listens_for(created.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        dbapi_connection.execute("PRAGMA query_only=ON")  # a write here would skip the writers' turn

    @event.listens_for(created.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # One snapshot for the reads of a session; straight to the driver (it is on this thread).
        connection.connection.driver_connection.execute("BEGIN")

    return created


def rows_engine(url: str) -> Engine:
    """`Database.quick_rows()` on SQLite: read-only `sqlite3` connections used straight from the event loop, core
    statements only. A statement through `AsyncEngine` costs a greenlet per call (its connection, each statement,
    its close) for a driver that never waits; here a short indexed read costs what SQLAlchemy's core takes. The
    pool never makes a reader wait (no limit on overflow: each reader that holds one across an await has its own)."""
    created = create_engine(
        url.replace("sqlite+aiosqlite://", "sqlite+pysqlite://", 1),
        poolclass=QueuePool,
        pool_size=5,
        max_overflow=-1,
        pool_reset_on_return=None,  # closing a connection ends its read transaction
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(created, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        dbapi_connection.execute("PRAGMA query_only=ON")

    @event.listens_for(created, "begin")
    def _on_begin(connection: Any) -> None:  # one snapshot for the reads of a connection
        connection.connection.driver_connection.execute("BEGIN")

    return created


class InLoopRows:
    """A connection used straight from the event loop, awaited like `AsyncConnection.execute` (core statements
    only): each statement runs at once. A read-only one of `rows_engine`, or the connection of a session on this
    module's engines, whose transaction has begun (`storage.db.rows_of`). What `storage/plans.py` plans runs on
    `sqlite3` itself once the connection's transaction has begun (its first statement begins it, through
    SQLAlchemy), with `sqlite3`'s errors raised as SQLAlchemy raises them."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self._driver: sqlite3.Connection | None = None

    async def execute(self, statement: Executable, parameters: plans.Parameters = None) -> Any:
        """A `Result`, typed as loosely as `AsyncConnection.execute` types these statements' results."""
        return self.run(statement, parameters)

    def run(self, statement: Executable, parameters: plans.Parameters = None) -> Any:
        """`execute`, called where nothing may be awaited (a hook run before a write transaction's COMMIT)."""
        call = plans.call(statement, parameters, self.connection.engine)
        if call is None:
            return self.connection.execute(statement, parameters)
        if self._driver is None:
            self._driver = self.connection.connection.driver_connection
        if self._driver is None or not self._driver.in_transaction:
            return self.connection.execute(statement, parameters)  # SQLAlchemy begins it ("begin" above)
        plan, arguments, driver = call.plan, call.arguments(), self._driver
        try:  # as the engine's statements: at once, or (inside a commit's greenlet) waiting out another's lock
            if call.rows is not None:
                return plans.Written(_patiently(lambda: driver.executemany(plan.sql, arguments)).rowcount)
            cursor = _patiently(lambda: driver.execute(plan.sql, arguments))
            if plan.metadata is None:
                return plans.Written(cursor.rowcount)
            return plan.result(cursor.fetchall())
        except sqlite3.Error as error:  # as the engine raises it: `IntegrityError`, `OperationalError`, …
            raise DBAPIError.instance(plan.sql, arguments, error, sqlite3.Error, dialect=self.dialect) from error


def in_loop(connection: AsyncConnection) -> "AsyncConnection | InLoopRows":
    """`connection` itself, or, when it is one of this module's (its statements never wait), its synchronous
    connection used from the event loop: a statement then costs no greenlet."""
    if isinstance(connection.dialect, InLoopSQLiteDialect) and connection.sync_connection is not None:
        return InLoopRows(connection.sync_connection)
    return connection
