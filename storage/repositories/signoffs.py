"""Facts the regression reminder looks at: the newest sign-off and the environments a release reached."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Deployment, Verification


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


async def reached(*, session: AsyncSession, team_id: str, release_id: int) -> set[str]:
    """Environments this release was deployed to successfully."""
    query = select(Deployment.environment).where(
        Deployment.team_id == team_id, Deployment.release_id == release_id, Deployment.outcome == "succeeded"
    )
    return set((await session.exec(query)).all())
