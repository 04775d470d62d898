"""Deployments: what went where, and what is live now."""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Deployment


async def for_release(*, session: AsyncSession, team_id: str, release_id: int) -> Sequence[Deployment]:
    query = (
        select(Deployment)
        .where(Deployment.team_id == team_id, Deployment.release_id == release_id)
        .order_by(col(Deployment.id))
    )
    return (await session.exec(query)).all()


def add(*, session: AsyncSession, deployment: Deployment) -> Deployment:
    session.add(deployment)
    return deployment
