"""Rows a transaction only ever appends (audit events, outbox messages) are written together when it commits: one
multi-row INSERT per table, in the order they were added, instead of one ORM object each, flushed one at a time
(on PostgreSQL every table's in one statement: one round trip). Nothing reads them back in the transaction that
writes them, except an outbox card a newer one replaces (`outbox.supersede_cards` drops it here before it is ever
written). A table may finish its rows right before they are written (`before_write`): the audit trail links each
event into its workspace's hash chain there."""

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Table, bindparam, insert
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import at_commit
from storage.write_tx import before_commit

_KEY = "shipmate_appends"

Row = dict[str, Any]
Finish = Callable[[Session, list[Row]], None]
_FINISH: dict[Table, Finish] = {}
_INSERTS: dict[Table, Insert] = {}


def before_write(table: Table, finish: Finish) -> None:
    """Have `finish` see (and complete) a transaction's rows for `table`, in order, right before they are written,
    inside the committing transaction."""
    _FINISH[table] = finish


def add(session: AsyncSession, table: Table, row: Row) -> None:
    """Owe `row` to `table`, written when the session's transaction commits (never if it rolls back)."""
    pending: list[tuple[Table, Row]] | None = session.info.get(_KEY)
    if pending is None:
        pending = session.info[_KEY] = []
    pending.append((table, row))


def drop(session: AsyncSession, table: Table, unwanted: Callable[[Row], bool]) -> None:
    """Forget the rows owed to `table` that `unwanted` picks (they were never written)."""
    pending: list[tuple[Table, Row]] = session.info.get(_KEY, [])
    pending[:] = [(owed, row) for owed, row in pending if owed is not table or not unwanted(row)]


# One hook for every write transaction, registered once, run right before its COMMIT (`storage/write_tx.py`): a
# transaction without rows owed has nothing to do here.
@before_commit
def _write(sync_session: Session) -> None:
    pending: list[tuple[Table, Row]] | None = sync_session.info.pop(_KEY, None)
    if not pending:
        return
    by_table: dict[Table, list[Row]] = {}
    for table, row in pending:
        by_table.setdefault(table, []).append(row)
    for table, rows in by_table.items():
        finish = _FINISH.get(table)
        if finish is not None:
            finish(sync_session, rows)
    shape = tuple((table, len(rows), tuple(rows[0])) for table, rows in by_table.items())
    if len(shape) > 1 and max(count for _, count, _ in shape) <= TOGETHER_ROWS and _on_postgres(sync_session):
        parameters = {
            f"w{i}_{j}_{name}": value
            for i, rows in enumerate(by_table.values())
            for j, row in enumerate(rows)
            for name, value in row.items()
        }
        at_commit(sync_session, _together(shape), parameters)
        return
    for table, rows in by_table.items():  # core rows: nothing for the ORM to track
        statement = _INSERTS.get(table)
        if statement is None:
            statement = _INSERTS[table] = insert(table)  # built once: its cache key is kept with it
        at_commit(sync_session, statement, rows)


TOGETHER_ROWS = 10  # a table's rows a commit writes in one statement with the others' (PostgreSQL)


def _on_postgres(sync_session: Session) -> bool:
    return sync_session.get_bind().dialect.name == "postgresql"


@lru_cache(maxsize=128)
def _together(shape: tuple[tuple[Table, int, tuple[str, ...]], ...]) -> Insert:
    """PostgreSQL: every table's rows in one statement, each table's a multi-row INSERT (the others as
    data-modifying CTEs), one round trip instead of one per table. A table's rows are inserted in the order of
    their VALUES, so their ids follow the order they were added in (the audit chain's order). No parameter is named
    after a column (`w<table>_<row>_<column>`): SQLAlchemy would read it as a value to write."""
    inserts = [
        insert(table).values(
            [
                {table.c[name]: bindparam(f"w{i}_{j}_{name}", type_=table.c[name].type) for name in names}
                for j in range(count)
            ]
        )
        for i, (table, count, names) in enumerate(shape)
    ]
    *first, last = inserts
    return last.add_cte(*(statement.cte(f"w{i}") for i, statement in enumerate(first)))
