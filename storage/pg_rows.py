"""PostgreSQL's quick reads straight on asyncpg: `Database.quick_rows()` on PostgreSQL.

Through `AsyncConnection.execute` a short indexed read pays for a greenlet, SQLAlchemy's DBAPI adaptation of
asyncpg (a cursor, its own prepared-statement cache) and its cursor result, which together cost more CPU than
asyncpg takes to run the statement. Here a core `select()` is compiled once for the dialect, its parameters go
through their types' bind processors, asyncpg runs it on the pooled connection (autocommit, the same connection
the engine checked out, with the codecs the dialect set up on it), and each value comes back through its column's
result processor, as the engine would give it, in a SQLAlchemy `Result`. Anything else (a textual statement, a
parameter rendered at execution time) goes through the connection as before, and so does everything while someone
listens to the engine's statement events (tracing, a test counting statements).

A plan is kept while its statement lives: the repositories build the statements they run here once (a statement
built per call would be compiled per call). A failure is asyncpg's own exception, not SQLAlchemy's wrapper of it:
these reads catch neither, and a connection the server closed is found at the pool's next checkout.
"""

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Executable, Select
from sqlalchemy.engine import Dialect, IteratorResult, Result
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.ext.asyncio import AsyncConnection

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # the parameters, in the order of $1, $2, …
    binds: tuple[Processor, ...]
    construct: Callable[..., MutableMapping[str, Any]]  # the given parameters with the statement's own values
    metadata: SimpleResultMetaData
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
        return IteratorResult(self.metadata, iter(rows))


_plans: "WeakKeyDictionary[Executable, _Plan | None]" = WeakKeyDictionary()


def _plan(statement: Executable, dialect: Dialect) -> _Plan | None:
    """How to run `statement` on asyncpg itself (None: it goes through the engine). Kept while the statement lives
    (the repositories build theirs once)."""
    if statement in _plans:
        return _plans[statement]
    plan = None
    if isinstance(statement, Select):
        compiled = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        if not compiled.literal_execute_params and not compiled.post_compile_params:
            columns = list(statement.selected_columns)
            plan = _Plan(
                sql=compiled.string,
                names=names,
                binds=tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names),
                construct=compiled.construct_params,
                metadata=SimpleResultMetaData(list(statement.selected_columns.keys())),
                results=tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns),
            )
    _plans[statement] = plan
    return plan


class DirectRows:
    """A quick-reader connection of the engine's pool whose core selects run on asyncpg itself, awaited like
    `AsyncConnection.execute` (see the module's docstring)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self._driver: Any = None

    async def execute(
        self, statement: Executable, parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
    ) -> Any:
        """A `Result`, typed as loosely as `AsyncConnection.execute` types these statements' results."""
        if isinstance(parameters, Sequence) or (plan := _plan(statement, self.dialect)) is None or self._observed():
            return await self.connection.execute(statement, parameters)
        if self._driver is None:
            raw = await self.connection.get_raw_connection()
            self._driver = raw.driver_connection
        return plan.result(await self._driver.fetch(plan.sql, *plan.arguments(parameters)))

    def _observed(self) -> bool:
        """Whether someone listens to the engine's statements (tracing, a test counting them): then they all go
        through the engine, where its events fire."""
        dispatch = self.connection.sync_engine.dispatch
        return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)
