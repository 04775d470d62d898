"""Follow-ups that other features attach to a release's life, called inside the use case's transaction.

Each hook gets the open session, so anything it writes (scheduled jobs, messages) commits with the change.
"""

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.lifecycle import Status
from bot.services.context import ServiceContext
from bot.services.reminders import planning
from storage.models import Deployment, Release


async def after_propose(session: AsyncSession, ctx: ServiceContext, release: Release, *, new: bool = False) -> None:
    """A release was proposed (or proposed again): approval reminders and the window reminder. A `new` release
    has no decisions and no jobs yet."""
    await planning.ask_approvers(session, ctx, release, decisions=() if new else None)
    await planning.plan_window(session, ctx, release, new=new)


async def after_status_change(session: AsyncSession, ctx: ServiceContext, release: Release, before: Status) -> None:
    """The release moved from `before` to `release.status`: drop reminders that no longer apply."""
    await planning.on_status_change(session, ctx, release, before)


async def after_deploy(session: AsyncSession, ctx: ServiceContext, release: Release, deployment: Deployment) -> None:
    """A deployment was recorded: the review after the final environment, a sign-off nudge where one is due."""
    await planning.on_deploy(session, ctx, release, deployment)


async def after_rollback(session: AsyncSession, ctx: ServiceContext, release: Release, deployment: Deployment) -> None:
    """`deployment` was rolled back: the post-release review starts right away."""
    await planning.on_rollback(session, ctx, release, deployment)


async def after_window_change(session: AsyncSession, ctx: ServiceContext, release: Release) -> None:
    """The planned window moved (`/release schedule`): the window reminder follows it."""
    await planning.plan_window(session, ctx, release)
