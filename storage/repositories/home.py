"""What one person's App Home shows: their releases and their open action items, each in one query."""

from collections.abc import Iterable, Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.lifecycle import Status
from storage.models import ActionItem, Release


async def proposed_by(
    *, session: AsyncSession, team_id: str, user_id: str, statuses: Iterable[Status], limit: int = 100
) -> Sequence[Release]:
    query = (
        select(Release)
        .where(Release.team_id == team_id, Release.proposer_id == user_id, col(Release.status).in_(sorted(statuses)))
        .order_by(col(Release.id).desc())
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def open_action_items(
    *, session: AsyncSession, team_id: str, owner_id: str, limit: int = 100
) -> Sequence[tuple[ActionItem, Release]]:
    """Open action items owned by `owner_id` with their release, soonest due first."""
    query = (
        select(ActionItem, Release)
        .join(Release, col(Release.id) == col(ActionItem.release_id))
        .where(ActionItem.team_id == team_id, ActionItem.owner_id == owner_id, ActionItem.status == "open")
        .order_by(col(ActionItem.due_at), col(ActionItem.id))
        .limit(limit)
    )
    return [(item, release) for item, release in (await session.exec(query)).all()]
