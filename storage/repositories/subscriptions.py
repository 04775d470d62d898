"""Who follows which service."""

from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Subscription

_SUBSCRIBERS = (
    select(Subscription.user_id)
    .where(Subscription.team_id == bindparam("team_id"), Subscription.service == bindparam("service"))
    .order_by(col(Subscription.id))
)


async def subscribers(*, session: AsyncSession, team_id: str, service: str) -> Sequence[str]:
    """Who follows `service` (every status change asks: the statement is built once)."""
    return (await session.exec(_SUBSCRIBERS, params={"team_id": team_id, "service": service})).all()


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
