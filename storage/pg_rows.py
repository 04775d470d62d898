"""PostgreSQL's core statements straight on asyncpg: `Database.quick_rows()`, and `rows_of()` in a transaction.

Through `AsyncConnection.execute` a short indexed read pays for a greenlet, SQLAlchemy's DBAPI adaptation of
asyncpg (a cursor, its own prepared-statement cache) and its cursor result, which together cost more CPU than
asyncpg takes to run the statement. Here what `storage/plans.py` plans runs on asyncpg itself, on the pooled
connection the engine checked out (with the codecs the dialect set up on it); anything else goes through the
connection as before.

A quick reader (autocommit, read-only) runs its selects so. In a transaction (`rows_of()` of a session: every
write) its writes run so too, once the transaction has begun on the connection (`storage/write_tx.py` begins it
before the first statement; SQLAlchemy's adaptation of asyncpg would begin it lazily, with the first statement
through the engine, which is what a statement meets until then). A failed read raises
asyncpg's own exception (the reads catch none); a failed write SQLAlchemy's, as the engine would (`IntegrityError`
is what concurrent clicks meet, and what services catch). A connection the server closed is found at the pool's
next checkout.
"""

from typing import Any

import asyncpg
from sqlalchemy import Executable
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import plans
from storage.plans import Written


def _written(status: str) -> Written:
    """From asyncpg's command tag: `UPDATE 3`, `DELETE 0`, `INSERT 0 1`."""
    return Written(int(status.rsplit(" ", 1)[-1]))


class DirectRows:
    """A connection of the engine's pool whose core statements run on asyncpg itself, awaited like
    `AsyncConnection.execute` (see the module's docstring): a quick reader's selects, or a transaction's selects
    and writes (`transaction=True`)."""

    def __init__(self, connection: AsyncConnection, *, transaction: bool = False) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.transaction = transaction
        self._driver: Any = None

    async def execute(self, statement: Executable, parameters: plans.Parameters = None) -> Any:
        """A `Result`, typed as loosely as `AsyncConnection.execute` types these statements' results. Several rows
        (a sequence of parameters) only for an INSERT in a transaction."""
        call = plans.call(statement, parameters, self.connection.sync_engine)
        if call is None:
            return await self.connection.execute(statement, parameters)
        if self._driver is None:
            raw = await self.connection.get_raw_connection()
            self._driver = raw.driver_connection
        if self.transaction and not self._driver.is_in_transaction():
            return await self.connection.execute(statement, parameters)  # the engine's adapter begins it
        plan = call.plan
        if plan.writes and not self.transaction:  # a quick reader's read-only transaction refuses it loudly
            return await self.connection.execute(statement, parameters)
        if not plan.writes:
            return plan.result(await self._driver.fetch(plan.sql, *call.arguments()))
        arguments = call.arguments()
        try:
            if call.rows is not None:  # asyncpg does not say how many rows several wrote: -1, as the engine gives
                await self._driver.executemany(plan.sql, arguments)
                return Written(-1)
            if plan.metadata is not None:  # RETURNING
                return plan.result(await self._driver.fetch(plan.sql, *arguments))
            return _written(await self._driver.execute(plan.sql, *arguments))
        except asyncpg.IntegrityConstraintViolationError as error:
            raise IntegrityError(plan.sql, arguments, error) from error
        except asyncpg.PostgresError as error:
            raise DBAPIError(plan.sql, arguments, error) from error
