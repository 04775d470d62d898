"""Which freezes cover an environment at a moment (one-off rows and recurring policy freezes)."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.gates import ActiveFreeze
from bot.services.context import ServiceContext


async def active_freezes(
    session: AsyncSession, ctx: ServiceContext, *, team_id: str, environment: str, at: datetime
) -> list[ActiveFreeze]:
    """Freezes in force for `environment` at `at`, soonest-ending last (filled in by change management)."""
    return []
