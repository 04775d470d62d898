"""Regression sign-offs: the newest one per (release, environment) is the one that counts."""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Verification


async def latest(*, session: AsyncSession, team_id: str, release_id: int, environment: str) -> Verification | None:
    query = (
        select(Verification)
        .where(
            Verification.team_id == team_id,
            Verification.release_id == release_id,
            Verification.environment == environment,
        )
        .order_by(col(Verification.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def for_release(*, session: AsyncSession, team_id: str, release_id: int) -> Sequence[Verification]:
    query = (
        select(Verification)
        .where(Verification.team_id == team_id, Verification.release_id == release_id)
        .order_by(col(Verification.id))
    )
    return (await session.exec(query)).all()


def add(session: AsyncSession, verification: Verification, /) -> Verification:
    session.add(verification)
    return verification
