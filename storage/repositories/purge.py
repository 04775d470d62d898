"""Everything a workspace left behind, deleted (`shipmate team purge`): every row of every table that carries its
`team_id`, children before parents, its tokens included. The audit trail is append-only in the database itself
(migration 0004's trigger): the purge lifts that guard for its own transaction only and puts it back before it
commits, so nothing else can ever delete an audit event."""

from sqlalchemy import Table, delete, func, text
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

import storage.models  # noqa: F401  (registers every table)

AUDIT = "audit_events"
SQLITE_GUARD = {
    verb: f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: {verb} refused'); END"
    for verb in ("UPDATE", "DELETE")
}


def _tables() -> list[Table]:
    """Children first: a row is deleted before the rows it points at."""
    return [t for t in reversed(SQLModel.metadata.sorted_tables) if "team_id" in t.columns]


async def counts(*, session: AsyncSession, team_id: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for table in _tables():
        query = select(func.count()).select_from(table).where(table.c.team_id == team_id)
        n = int((await session.exec(query)).one())
        if n:
            found[table.name] = n
    return found


async def delete_team(*, session: AsyncSession, team_id: str) -> dict[str, int]:
    """Deletes and returns how many rows of each table went."""
    dialect = session.get_bind().dialect.name
    deleted: dict[str, int] = {}
    for table in _tables():
        if table.name == AUDIT:
            await _lift_guard(session, dialect)
        result = await session.exec(delete(table).where(table.c.team_id == team_id))
        if table.name == AUDIT:
            await _restore_guard(session, dialect)
        if result.rowcount:
            deleted[table.name] = int(result.rowcount)
    return deleted


async def _lift_guard(session: AsyncSession, dialect: str) -> None:
    if dialect == "postgresql":
        await session.exec(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))  # type: ignore[call-overload]
    else:
        for verb in SQLITE_GUARD:
            await session.exec(text(f"DROP TRIGGER IF EXISTS audit_events_no_{verb.lower()}"))  # type: ignore[call-overload]


async def _restore_guard(session: AsyncSession, dialect: str) -> None:
    if dialect == "postgresql":
        await session.exec(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))  # type: ignore[call-overload]
    else:
        for statement in SQLITE_GUARD.values():
            await session.exec(text(statement))  # type: ignore[call-overload]
