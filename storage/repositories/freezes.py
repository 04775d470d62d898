"""One-off freezes (`/release freeze`). Scoped by `team_id`, never commit; new rows are added positionally, the
rest take keywords."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Freeze


def add(session: AsyncSession, freeze: Freeze, /) -> Freeze:
    session.add(freeze)
    return freeze


async def lock(*, session: AsyncSession, team_id: str, freeze_id: int) -> Freeze | None:
    query = select(Freeze).where(Freeze.team_id == team_id, Freeze.id == freeze_id).with_for_update()
    freeze = (await session.exec(query)).first()
    if freeze is not None:
        await session.refresh(freeze)
    return freeze


_OVERLAPPING = (
    select(Freeze)
    .where(
        Freeze.team_id == bindparam("team_id"),
        col(Freeze.lifted_at).is_(None),
        col(Freeze.start_at) < bindparam("end"),
        col(Freeze.end_at) > bindparam("start"),
    )
    .order_by(col(Freeze.start_at), col(Freeze.id))
    .limit(bindparam("limit", type_=Integer))
)
_OVERLAPPING_IN = _OVERLAPPING.where(Freeze.environment == bindparam("environment"))


async def overlapping(
    *,
    session: AsyncSession,
    team_id: str,
    start: datetime,
    end: datetime,
    environment: str | None = None,
    limit: int = 500,
) -> Sequence[Freeze]:
    """Freezes in force at some moment of [start, end), not lifted, soonest first (statements built once)."""
    params = {"team_id": team_id, "start": start, "end": end, "limit": limit}
    if environment is None:
        return (await session.exec(_OVERLAPPING, params=params)).all()
    return (await session.exec(_OVERLAPPING_IN, params={**params, "environment": environment})).all()
