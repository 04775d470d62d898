"""Releases by their planned window, for the calendar, conflicts and App Home."""

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.lifecycle import Status
from storage.models import Release


async def overlapping(
    *,
    session: AsyncSession,
    team_id: str,
    start: datetime,
    end: datetime,
    statuses: Iterable[Status],
    limit: int = 500,
) -> Sequence[Release]:
    """Releases in `statuses` whose planned window overlaps [start, end), earliest first."""
    query = (
        select(Release)
        .where(
            Release.team_id == team_id,
            col(Release.status).in_(sorted(statuses)),
            col(Release.window_start).is_not(None),
            col(Release.window_start) < end,
            col(Release.window_end) > start,
        )
        .order_by(col(Release.window_start), col(Release.id))
        .limit(limit)
    )
    return (await session.exec(query)).all()
