"""Core statements run on the driver itself, as the engine would run them: what `storage/pg_rows.py` (asyncpg) and
`storage/sqlite_in_loop.py` (sqlite3 on the event loop) share.

Through `Connection.execute` a short statement pays for SQLAlchemy's execution context (its cache look-up by the
statement's shape, parameter processing, a cursor result), which costs more CPU than the driver takes to run it. A
`Plan` is the statement compiled once for a dialect and the names of the parameters given: its SQL, its parameters
in positional order with their bind processors, and for a select (or a RETURNING) its columns' result processors.
The driver runs the SQL and the rows come back through those processors, as the engine would give them, in a
SQLAlchemy `Result`; a write without RETURNING gives its row count.

Only what the engine's execution adds nothing to is planned: a select, or an INSERT, UPDATE or DELETE without
defaults computed in Python. Textual statements, parameters rendered at execution time and every statement while
someone listens to the engine's statement events (tracing, a test counting statements) go through the engine.

A plan is made the second time its statement is run with the same names, and kept while the statement lives: the
repositories build the statements they run often once, and one built per call goes through the engine, whose cache
knows it by its shape.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from sqlalchemy import Delete, Engine, Executable, Insert, Select, Update
from sqlalchemy.engine import Dialect, IteratorResult, Result
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None


class Slot(NamedTuple):
    """One positional parameter: given by its key (or its name), else the statement's own value (`fixed`), unless
    it is `required`; then through its type's bind processor. What `SQLCompiler.construct_params` does, decided
    once per plan instead of for every bound parameter at every execution."""

    key: str
    name: str
    required: bool
    fixed: Any
    process: Processor


@dataclass(frozen=True)
class Plan:
    sql: str
    slots: tuple[Slot, ...]  # the parameters, in their positional order
    metadata: SimpleResultMetaData | None  # None: a write without RETURNING
    results: tuple[Processor, ...]
    writes: bool  # an INSERT, UPDATE or DELETE (with or without RETURNING)

    def arguments(self, parameters: Mapping[str, Any] | None) -> list[Any]:
        given = parameters or {}
        arguments = []
        for key, name, required, fixed, process in self.slots:
            if key in given:
                value = given[key]
            elif name in given:
                value = given[name]
            elif required:
                raise InvalidRequestError(f"A value is required for bind parameter {key!r}", code="cd3x")
            else:
                value = fixed
            arguments.append(value if process is None else process(value))
        return arguments

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
    """What a write run on the driver gives back: how many rows it wrote (as `CursorResult.rowcount`)."""

    rowcount: int


_ONCE = object()  # run once: planned if it is run again (a statement built per call never is)
# By statement, then by dialect and the names of the parameters given (an INSERT or UPDATE writes the columns it is
# given; tests run one process on both databases).
_plans: "WeakKeyDictionary[Executable, dict[tuple[str, tuple[str, ...]], Plan | object | None]]" = WeakKeyDictionary()


def plan(statement: Executable, parameters: Mapping[str, Any] | None, dialect: Dialect) -> Plan | None:
    """How to run `statement` with these parameters on the driver (None: it goes through the engine). Made the
    second time it is run so, kept while the statement lives."""
    key = (dialect.name, tuple(parameters or ()))
    by_key = _plans.get(statement)
    if by_key is None:
        _plans[statement] = {key: _ONCE}
        return None
    kept = by_key.setdefault(key, _ONCE)
    if kept is _ONCE:
        kept = by_key[key] = _planned(statement, key[1], dialect)
    return kept if isinstance(kept, Plan) else None


def _planned(statement: Executable, given: tuple[str, ...], dialect: Dialect) -> Plan | None:
    if not isinstance(statement, Select | Insert | Update | Delete):
        return None  # text, DDL: the engine's
    writes = not isinstance(statement, Select)
    columns = statement.selected_columns if isinstance(statement, Select) else statement.exported_columns
    # An INSERT without RETURNING gives back no new id here (`Written` has no `inserted_primary_key`, and nothing
    # run this way reads one): compiled as for many rows, without the RETURNING of the id the engine may add.
    many = isinstance(statement, Insert) and not columns
    compiled = statement.compile(dialect=dialect, column_keys=list(given), for_executemany=many)
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None
    if compiled.insert_prefetch or compiled.update_prefetch or (not columns and compiled.effective_returning):
        return None  # defaults computed in Python, a primary key to give back: the engine's execution does that
    slots = _slots(compiled, dialect)
    if slots is None:
        return None
    return Plan(
        sql=compiled.string,
        slots=slots,
        metadata=SimpleResultMetaData([str(key) for key, _column in columns.items()]) if columns else None,
        results=tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns),
        writes=writes,
    )


def _slots(compiled: SQLCompiler, dialect: Dialect) -> tuple[Slot, ...] | None:
    """The positional parameters of `compiled`, or None when one needs what only the engine's execution does (a
    value computed at execution, an escaped name, parameters collected at compile time)."""
    if compiled.escaped_bind_names or getattr(compiled, "_collected_params", None):
        return None
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    slots = []
    for name in compiled.positiontup or ():
        bind = binds[name]
        if bind.callable is not None:
            return None
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        slots.append(Slot(bind.key, name, bool(bind.required), bind.value, process))
    return tuple(slots)


@dataclass(frozen=True)
class Call:
    """A statement to run on the driver: its plan, with one row's parameters or (an INSERT's) several rows'."""

    plan: Plan
    given: Mapping[str, Any] | None
    rows: list[Mapping[str, Any]] | None = None

    def arguments(self) -> list[Any]:
        """One row's arguments; for several rows, a list of each row's."""
        if self.rows is None:
            return self.plan.arguments(self.given)
        return [self.plan.arguments(row) for row in self.rows]


Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


def call(statement: Executable, parameters: Parameters, engine: Engine) -> Call | None:
    """How to run `statement` with `parameters` on `engine`'s driver, or None: through the engine. Several rows only
    for an INSERT (with the same names in every row, as the engine requires)."""
    if isinstance(parameters, Sequence):
        rows = list(parameters)
        if not rows or not isinstance(statement, Insert):
            return None
        found = plan(statement, rows[0], engine.dialect)
        if found is None or found.metadata is not None or observed(engine):
            return None  # several rows returning theirs: the engine's
        return Call(found, rows[0], rows)
    found = plan(statement, parameters, engine.dialect)
    return None if found is None or observed(engine) else Call(found, parameters)


def observed(engine: Engine) -> bool:
    """Whether someone listens to `engine`'s statements (tracing, a test counting them): then they all go through
    the engine, where its events fire."""
    dispatch = engine.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)
