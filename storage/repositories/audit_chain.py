"""The audit trail's hash chain in the database (the encoding is `bot/domain/audit_chain.py`).

Each transaction's audit events are linked when it commits, right before they are written: the workspace's newest
hash is read inside the committing transaction, after appends to that workspace are serialised (PostgreSQL: a
transaction advisory lock per workspace, held until commit, taken and followed by the head's read in one call of
`audit_chain_head()`; SQLite: every writer holds the database's write lock from `BEGIN IMMEDIATE`), so concurrent
writers, in one process or several, still make one unbroken chain.
`pages` reads a workspace's chain in id order, a keyset page at a time (constant memory however long it is)."""

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Integer, String, bindparam, func, select
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import audit_chain
from storage.db import at_commit, rows_of
from storage.models import AuditEvent
from storage.models.tables import table_of
from storage.repositories import appends

AUDIT = table_of(AuditEvent)
LOCK_CLASS = 0x41554454  # "AUDT": the first key of the two-key advisory locks of audit chains
# PostgreSQL: the lock, then the head, in one round trip (the function is made by migration 0012_audit_chain).
_LOCKED_HEAD = select(
    func.audit_chain_head(bindparam("team_id", type_=String), bindparam("lock_class", type_=Integer), type_=String)
)
_HEAD = select(AUDIT.c.hash).where(AUDIT.c.team_id == bindparam("team_id")).order_by(AUDIT.c.id.desc()).limit(1)
CHAIN_COLUMNS = (
    AUDIT.c.id, AUDIT.c.team_id, AUDIT.c.release_id, AUDIT.c.actor_id, AUDIT.c.action, AUDIT.c.details,
    AUDIT.c.created_at, AUDIT.c.prev_hash, AUDIT.c.hash,
)  # fmt: skip
_PAGE = (
    select(*CHAIN_COLUMNS)
    .where(AUDIT.c.team_id == bindparam("team_id"), AUDIT.c.id > bindparam("after", type_=Integer))
    .order_by(AUDIT.c.id)
    .limit(bindparam("limit", type_=Integer))
)
_TEAMS = select(AUDIT.c.team_id).distinct().order_by(AUDIT.c.team_id)


def _seal(sync_session: Session, rows: list[dict[str, Any]]) -> None:
    by_team: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_team.setdefault(row["team_id"], []).append(row)
    postgres = sync_session.get_bind().dialect.name == "postgresql"
    for team_id in sorted(by_team):  # one order for every transaction: no two wait for each other's locks
        if postgres:
            head = at_commit(sync_session, _LOCKED_HEAD, {"lock_class": LOCK_CLASS, "team_id": team_id}).scalar()
        else:
            head = at_commit(sync_session, _HEAD, {"team_id": team_id}).scalar()
        audit_chain.seal(by_team[team_id], head or audit_chain.GENESIS)


appends.before_write(AUDIT, _seal)


async def head(*, session: AsyncSession, team_id: str) -> str:
    """The newest hash of a workspace's chain (GENESIS when it has no event yet)."""
    connection = await rows_of(session)
    found = (await connection.execute(_HEAD, {"team_id": team_id})).scalar()
    return str(found) if found else audit_chain.GENESIS


async def teams(*, session: AsyncSession) -> list[str]:
    """The workspaces with an audit trail (for a check of every chain)."""
    connection = await session.connection()
    return [str(team) for team in (await connection.execute(_TEAMS)).scalars()]


async def pages(*, session: AsyncSession, team_id: str, size: int = 2_000) -> AsyncIterator[list[dict[str, Any]]]:
    """A workspace's events in chain (id) order, `size` at a time, each a dict of the chain's columns."""
    connection = await session.connection()
    after = 0
    while True:
        result = await connection.execute(_PAGE, {"team_id": team_id, "after": after, "limit": size})
        keys = list(result.keys())
        page = [dict(zip(keys, row, strict=True)) for row in result.all()]
        if not page:
            return
        yield page
        after = page[-1]["id"]
