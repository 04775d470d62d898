"""Who follows which service."""

from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Reader, rows_of
from storage.models import Subscription
from storage.models.tables import select_fields, table_of

_TABLE = table_of(Subscription)
_SUBSCRIBERS = (
    select_fields(_TABLE, ("user_id",))
    .where(_TABLE.c.team_id == bindparam("team_id"), _TABLE.c.service == bindparam("service"))
    .order_by(_TABLE.c.id)
)


async def subscribers(*, session: Reader, team_id: str, service: str) -> Sequence[str]:
    """Who follows `service` (every status change asks: a core statement, built once)."""
    found = await (await rows_of(session)).execute(_SUBSCRIBERS, {"team_id": team_id, "service": service})
    return [str(user_id) for user_id in found.scalars().all()]


async def find(*, session: AsyncSession, team_id: str, user_id: str, service: str) -> Subscription | None:
    query = select(Subscription).where(
        Subscription.team_id == team_id, Subscription.user_id == user_id, Subscription.service == service
    )
    return (await session.exec(query)).first()


def add(session: AsyncSession, subscription: Subscription, /) -> Subscription:
    session.add(subscription)
    return subscription


async def remove(*, session: AsyncSession, subscription: Subscription) -> None:
    await session.delete(subscription)


async def services_of(*, session: AsyncSession, team_id: str, user_id: str) -> Sequence[str]:
    query = (
        select(Subscription.service)
        .where(Subscription.team_id == team_id, Subscription.user_id == user_id)
        .order_by(col(Subscription.service))
    )
    return (await session.exec(query)).all()
