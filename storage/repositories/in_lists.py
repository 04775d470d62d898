"""`column IN (...)` with one bound parameter per value, for statements built once and run often.

SQLAlchemy's expanding IN (`bindparam(..., expanding=True)`) renders the statement's SQL again on every execution,
which costs more than SQLite takes to answer a short read. An IN of fixed length is rendered once: statements are
built once per length (a handful: the statuses of a set, the ids on a page) and their SQL stays in the compiled
cache (on PostgreSQL, in asyncpg's prepared statements).
"""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, bindparam


def in_values(column: Any, name: str, count: int) -> ColumnElement[bool]:
    """`column IN (:name_0, …)` with `count` parameters (give them with `values`)."""
    return column.in_([bindparam(f"{name}_{i}") for i in range(count)])  # type: ignore[no-any-return]


def values(name: str, given: Iterable[Any]) -> dict[str, Any]:
    """The parameters of `in_values(column, name, len(given))`."""
    return {f"{name}_{i}": value for i, value in enumerate(given)}
