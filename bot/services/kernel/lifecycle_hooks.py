"""Follow-ups that other features attach to a release's life, called inside the use case's transaction.

Each hook gets the open session, so anything it writes (scheduled jobs, messages) commits with the change.
"""

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.lifecycle import Status
from bot.domain.pipeline import JobKind
from bot.services.kernel.change_feed import environment_key, release_key
from bot.services.kernel.context import ServiceContext
from bot.services.metrics import metrics_digest
from bot.services.reminders import planning
from storage.models import Deployment, Release
from storage.repositories import jobs


async def after_propose(session: AsyncSession, ctx: ServiceContext, release: Release, *, new: bool = False) -> None:
    """A release was proposed (or proposed again): approval reminders, the window reminder, and the workspace's
    weekly digest if it has none yet. A `new` release has no decisions and no jobs yet."""
    await planning.ask_approvers(session, ctx, release, new=new)
    await planning.plan_window(session, ctx, release, new=new)
    await metrics_digest.plan(session, ctx, release.team_id)


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


async def after_change(session: AsyncSession, ctx: ServiceContext, release: Release) -> None:
    """The release changed in any way (an approval, a sign-off, a deployment): whatever waits on its gates looks
    again once this commits: gate checks in this process at once, GitHub protection rules (durable jobs, any
    process) at their next sweep."""
    ctx.changes.after_commit(session, release_key(release.pk))
    await jobs.pull_forward(
        session=session, team_id=release.team_id, release_id=release.pk, kinds=[JobKind.PROTECTION_RULE], at=ctx.now()
    )


async def after_freeze_change(session: AsyncSession, ctx: ServiceContext, team_id: str, environment: str) -> None:
    """A freeze was lifted: deployments waiting on that environment look again."""
    ctx.changes.after_commit(session, environment_key(team_id, environment))
    await jobs.pull_forward(session=session, team_id=team_id, kinds=[JobKind.PROTECTION_RULE], at=ctx.now())
