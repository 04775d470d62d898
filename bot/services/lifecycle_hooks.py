"""Follow-ups that other features attach to a release's life, called inside the use case's transaction.

Each hook gets the open session, so anything it writes (scheduled jobs, messages) commits with the change.
"""

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.context import ServiceContext
from storage.models import Deployment, Release


async def after_propose(session: AsyncSession, ctx: ServiceContext, release: Release) -> None:
    """A release was proposed (or proposed again): e.g. schedule approval reminders."""


async def after_status_change(session: AsyncSession, ctx: ServiceContext, release: Release, before: str) -> None:
    """The release moved from `before` to `release.status`: e.g. drop reminders that no longer apply."""


async def after_deploy(session: AsyncSession, ctx: ServiceContext, release: Release, deployment: Deployment) -> None:
    """A deployment was recorded: e.g. schedule the post-release review after a production deployment."""


async def after_rollback(session: AsyncSession, ctx: ServiceContext, release: Release, deployment: Deployment) -> None:
    """`deployment` was rolled back: e.g. start the post-release review right away."""
