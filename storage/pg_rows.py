"""PostgreSQL's core statements straight on asyncpg: `Database.quick_rows()`, and `rows_of()` in a transaction.

Through `AsyncConnection.execute` a short indexed read pays for a greenlet, SQLAlchemy's DBAPI adaptation of
asyncpg (a cursor, its own prepared-statement cache) and its cursor result, which together cost more CPU than
asyncpg takes to run the statement. Here a core `select()` is compiled once for the dialect, its parameters go
through their types' bind processors, asyncpg runs it on the pooled connection (autocommit, the same connection
the engine checked out, with the codecs the dialect set up on it), and each value comes back through its column's
result processor, as the engine would give it, in a SQLAlchemy `Result`. Anything else (a textual statement, a
parameter rendered at execution time) goes through the connection as before, and so does everything while someone
listens to the engine's statement events (tracing, a test counting statements).

In a transaction (`rows_of()` of a session: every write) the same holds for INSERT, UPDATE and DELETE without
RETURNING, whose result gives their `rowcount`, once the transaction has begun on the connection: SQLAlchemy's
adaptation of asyncpg begins it lazily, at its first statement, so until then statements go through the engine.

A plan is made the second time its statement is run, and kept while the statement lives: the repositories build
the statements they run often once, and one built per call goes through the engine, whose cache knows it by its
shape. A failed read raises asyncpg's own exception (the reads catch none); a failed write SQLAlchemy's, as the
engine would (`IntegrityError` is what concurrent clicks meet, and what services catch). A connection the server
closed is found at the pool's next checkout.
"""

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy import Delete, Executable, Insert, Select, Update
from sqlalchemy.engine import Dialect, IteratorResult, Result
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # the parameters, in the order of $1, $2, …
    binds: tuple[Processor, ...]
    construct: Callable[..., MutableMapping[str, Any]]  # the given parameters with the statement's own values
    metadata: SimpleResultMetaData | None  # None: a write, which returns no rows
    results: tuple[Processor, ...]

    def arguments(self, parameters: Mapping[str, Any] | None) -> list[Any]:
        values = self.construct(parameters or {})
        return [
            value if process is None else process(value)
            for process, value in zip(self.binds, (values[name] for name in self.names), strict=True)
        ]

    def result(self, records: Sequence[Sequence[Any]]) -> Result[Any]:
        processors = self.results
        if not any(processors):  # plain values only (most lists): no per-value look at a processor
            rows = [tuple(record) for record in records]
        else:
            rows = [
                tuple(
                    value if process is None else process(value)
                    for process, value in zip(processors, record, strict=True)
                )
                for record in records
            ]
        assert self.metadata is not None
        return IteratorResult(self.metadata, iter(rows))


@dataclass(frozen=True)
class Written:
    """What a write run here gives back: how many rows it wrote (as `CursorResult.rowcount`)."""

    rowcount: int

    @classmethod
    def of(cls, status: str) -> "Written":
        """From asyncpg's command tag: `UPDATE 3`, `DELETE 0`, `INSERT 0 1`."""
        return cls(int(status.rsplit(" ", 1)[-1]))


_ONCE = object()  # run once: planned if it is run again (a statement built per call never is)
# By statement, then by the names of the parameters given: an INSERT or UPDATE writes the columns it is given.
_plans: "WeakKeyDictionary[Executable, dict[tuple[str, ...], _Plan | object | None]]" = WeakKeyDictionary()


def _plan(statement: Executable, parameters: Mapping[str, Any] | None, dialect: Dialect) -> _Plan | None:
    """How to run `statement` with these parameters on asyncpg itself (None: it goes through the engine). Made the
    second time it is run so, kept while the statement lives."""
    names = tuple(parameters or ())  # (several rows: those of the first, which the engine requires of all)
    by_names = _plans.get(statement)
    if by_names is None:
        _plans[statement] = {names: _ONCE}
        return None
    kept = by_names.setdefault(names, _ONCE)
    if kept is _ONCE:
        kept = by_names[names] = _planned(statement, names, dialect)
    return kept if isinstance(kept, _Plan) else None


def _planned(statement: Executable, given: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    if not isinstance(statement, Select) and not (
        isinstance(statement, Insert | Update | Delete) and not statement.exported_columns
    ):
        return None  # text, DDL, a write that returns rows: the engine's
    assert isinstance(statement, Select | Insert | Update | Delete)
    # An INSERT here gives back no new id (`Written` has no `inserted_primary_key`, and nothing run here reads
    # one): compiled as for many rows, without the RETURNING of the id the engine adds for one.
    compiled = statement.compile(
        dialect=dialect, column_keys=list(given), for_executemany=isinstance(statement, Insert)
    )
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.effective_returning:
        return None  # defaults computed in Python, a primary key to give back: the engine's execution does that
    names = tuple(compiled.positiontup or ())
    columns = list(statement.selected_columns) if isinstance(statement, Select) else []
    return _Plan(
        sql=compiled.string,
        names=names,
        binds=tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names),
        construct=compiled.construct_params,
        metadata=SimpleResultMetaData(list(statement.selected_columns.keys()))
        if isinstance(statement, Select)
        else None,
        results=tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns),
    )


class DirectRows:
    """A connection of the engine's pool whose core statements run on asyncpg itself, awaited like
    `AsyncConnection.execute` (see the module's docstring): a quick reader's selects, or a transaction's selects
    and writes (`transaction=True`)."""

    def __init__(self, connection: AsyncConnection, *, transaction: bool = False) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.transaction = transaction
        self._driver: Any = None

    async def execute(
        self, statement: Executable, parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
    ) -> Any:
        """A `Result`, typed as loosely as `AsyncConnection.execute` types these statements' results. Several rows
        (a sequence of parameters) only for an INSERT in a transaction."""
        rows: list[Mapping[str, Any]] | None = None
        given: Mapping[str, Any] | None = None
        if isinstance(parameters, Sequence):
            rows = list(parameters)
            given = rows[0] if rows else None  # the engine requires the same names of every row
        else:
            given = parameters
        plan = None if rows is not None and not isinstance(statement, Insert) else _plan(statement, given, self.dialect)
        if plan is None or rows == [] or self._observed():
            return await self.connection.execute(statement, parameters)
        if self._driver is None:
            raw = await self.connection.get_raw_connection()
            self._driver = raw.driver_connection
        if self.transaction and not self._driver.is_in_transaction():
            return await self.connection.execute(statement, parameters)  # the engine's adapter begins it
        if plan.metadata is not None:
            return plan.result(await self._driver.fetch(plan.sql, *plan.arguments(given)))
        if not self.transaction:  # a write through a quick reader: its read-only transaction refuses it loudly
            return await self.connection.execute(statement, parameters)
        if rows is None:
            return await self._write(plan, plan.arguments(given))
        return await self._write(plan, [plan.arguments(row) for row in rows], many=True)

    async def _write(self, plan: _Plan, arguments: list[Any], *, many: bool = False) -> Written:
        """One row's arguments, or (`many`) a list of several rows'; asyncpg's errors as the engine raises them."""
        try:
            if many:
                await self._driver.executemany(plan.sql, arguments)
                return Written(len(arguments))
            return Written.of(await self._driver.execute(plan.sql, *arguments))
        except asyncpg.IntegrityConstraintViolationError as error:
            raise IntegrityError(plan.sql, arguments, error) from error
        except asyncpg.PostgresError as error:
            raise DBAPIError(plan.sql, arguments, error) from error

    def _observed(self) -> bool:
        """Whether someone listens to the engine's statements (tracing, a test counting them): then they all go
        through the engine, where its events fire."""
        dispatch = self.connection.sync_engine.dispatch
        return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)
