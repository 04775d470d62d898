"""Calendar feed tokens, stored as SHA-256 hashes: one live token per workspace."""

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CalendarToken
from storage.types import utcnow


def add(session: AsyncSession, token: CalendarToken, /) -> CalendarToken:
    session.add(token)
    return token


async def revoke_all(*, session: AsyncSession, team_id: str) -> int:
    statement = update(CalendarToken).where(
        col(CalendarToken.team_id) == team_id, col(CalendarToken.revoked_at).is_(None)
    )
    result = await session.exec(statement.values(revoked_at=utcnow()))
    return int(result.rowcount)


async def by_hash(*, session: AsyncSession, token_hash: str) -> CalendarToken | None:
    """The token row for a hash, in any workspace: the feed URL carries no team, the token says which."""
    query = select(CalendarToken).where(CalendarToken.token_hash == token_hash)
    return (await session.exec(query)).first()


async def live(*, session: AsyncSession, team_id: str) -> CalendarToken | None:
    """The workspace's feed token in force (a new link revokes the old one)."""
    query = select(CalendarToken).where(col(CalendarToken.team_id) == team_id, col(CalendarToken.revoked_at).is_(None))
    return (await session.exec(query.order_by(col(CalendarToken.id).desc()))).first()
