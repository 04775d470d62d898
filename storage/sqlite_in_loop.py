"""SQLite reads on the event loop: the standard library's `sqlite3` driver behind an `AsyncEngine`, for the short
indexed reads of a person's request (`Database.quick_read`).

Through aiosqlite every statement is several hops to a worker thread and back, which costs more CPU than SQLite
takes to answer an indexed read. A reader in WAL mode never waits for the writer, so the read can simply run where
it is awaited. The connections are read-only (`query_only`), never change the journal mode (converting a database
to WAL takes a lock a writer may hold while it waits for the event loop), and wait briefly when SQLite is busy
(recovering its WAL after a crash), since the event loop waits with them.
"""

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, Pool
from sqlalchemy.util import await_

BUSY_TIMEOUT_MS = 2_000


class InLoopSQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite, declared async so that `AsyncEngine` takes it: `greenlet_spawn` runs each statement to the end
    at once, finding nothing to wait for."""

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


class _Cursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """Called by `AsyncConnection.execute` on an async driver's cursor; sqlite3's keeps its rows readable."""


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)


registry.register("sqlite.inloop", __name__, "InLoopSQLiteDialect")


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
