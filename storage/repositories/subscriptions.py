"""Who follows which service."""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Subscription


async def subscribers(*, session: AsyncSession, team_id: str, service: str) -> Sequence[str]:
    query = (
        select(Subscription.user_id)
        .where(Subscription.team_id == team_id, Subscription.service == service)
        .order_by(col(Subscription.id))
    )
    return (await session.exec(query)).all()
