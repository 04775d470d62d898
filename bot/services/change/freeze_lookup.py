"""Which freezes cover an environment at a moment (one-off rows and recurring policy freezes)."""

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import freezes
from bot.domain.freezes import FreezeWindow
from bot.domain.gates import ActiveFreeze
from bot.services.kernel.context import ServiceContext
from storage.models import Freeze
from storage.repositories import freezes as freezes_repo


def window_of(row: Freeze) -> FreezeWindow:
    return FreezeWindow(
        environments=frozenset({row.environment}),
        start=row.start_at,
        end=row.end_at,
        reason=row.reason,
        freeze_id=row.id,
        created_by=row.created_by,
    )


async def windows_between(
    session: AsyncSession,
    ctx: ServiceContext,
    *,
    team_id: str,
    start: datetime,
    end: datetime,
    environment: str | None = None,
) -> list[FreezeWindow]:
    """Every freeze (one-off and policy occurrences) overlapping [start, end), soonest first."""
    rows = await freezes_repo.overlapping(
        session=session, team_id=team_id, start=start, end=end, environment=environment
    )
    policy = freezes.policy_windows(ctx.policy, start, end, environment=environment)
    return freezes.merge_sorted([window_of(row) for row in rows], policy)


async def active_freezes(
    session: AsyncSession, ctx: ServiceContext, *, team_id: str, environment: str, at: datetime
) -> list[ActiveFreeze]:
    """Freezes in force for `environment` at `at`, soonest-ending last: the first says how long to wait."""
    found = await windows_between(
        session, ctx, team_id=team_id, start=at, end=at + timedelta(microseconds=1), environment=environment
    )
    return [window.as_active() for window in freezes.covering(found, environment, at)]
