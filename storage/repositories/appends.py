"""Rows a transaction only ever appends (audit events, outbox messages) are written together when it commits: one
multi-row INSERT per table, in the order they were added, instead of one ORM object each, flushed one at a time.
Nothing reads them back in the transaction that writes them, except an outbox card a newer one replaces
(`outbox.supersede_cards` drops it here before it is ever written). A table may finish its rows right before they
are written (`before_write`): the audit trail links each event into its workspace's hash chain there."""

from collections.abc import Callable
from typing import Any

from sqlalchemy import Insert, Table, insert
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
    for table, rows in by_table.items():  # core rows: nothing for the ORM to track
        finish = _FINISH.get(table)
        if finish is not None:
            finish(sync_session, rows)
        statement = _INSERTS.get(table)
        if statement is None:
            statement = _INSERTS[table] = insert(table)  # built once: its cache key is kept with it
        at_commit(sync_session, statement, rows)
