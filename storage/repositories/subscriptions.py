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
