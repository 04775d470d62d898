"""Action items that come out of a review."""

from collections.abc import Sequence

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ActionItem, Release


def add(session: AsyncSession, item: ActionItem, /) -> ActionItem:
    session.add(item)
    return item


async def get(*, session: AsyncSession, team_id: str, item_id: int, lock: bool = False) -> ActionItem | None:
    query = select(ActionItem).where(ActionItem.team_id == team_id, ActionItem.id == item_id)
    if lock:
        query = query.with_for_update()
    item = (await session.exec(query)).first()
    if item is not None and lock:
        await session.refresh(item)
    return item


async def by_ids(*, session: AsyncSession, team_id: str, item_ids: Sequence[int]) -> Sequence[ActionItem]:
    if not item_ids:
        return []
    query = select(ActionItem).where(ActionItem.team_id == team_id, col(ActionItem.id).in_(list(item_ids)))
    return (await session.exec(query.order_by(col(ActionItem.due_at), col(ActionItem.id)))).all()


async def for_release(*, session: AsyncSession, team_id: str, release_id: int) -> Sequence[ActionItem]:
    query = select(ActionItem).where(ActionItem.team_id == team_id, ActionItem.release_id == release_id)
    return (await session.exec(query.order_by(col(ActionItem.id)))).all()


async def open_counts(*, session: AsyncSession, team_id: str, release_id: int, owner_id: str) -> tuple[int, int]:
    """How many of a release's action items are open, and how many of those `owner_id` owns (one query, on
    ix_action_items_team_release)."""
    owned = func.count(case((col(ActionItem.owner_id) == owner_id, 1)))  # counts the non-null: that owner's
    query = select(func.count(), owned).where(
        ActionItem.team_id == team_id, ActionItem.release_id == release_id, ActionItem.status == "open"
    )
    total, mine = (await session.exec(query)).one()
    return int(total), int(mine)


async def open_items(
    *, session: AsyncSession, team_id: str, owner_id: str | None = None, limit: int = 50
) -> Sequence[tuple[ActionItem, Release]]:
    """Open items, soonest due first, with their release (uses ix_action_items_team_owner for `owner_id`)."""
    query = (
        select(ActionItem, Release)
        .join(Release, col(Release.id) == col(ActionItem.release_id))
        .where(ActionItem.team_id == team_id, ActionItem.status == "open")
    )
    if owner_id is not None:
        query = query.where(ActionItem.owner_id == owner_id)
    query = query.order_by(col(ActionItem.due_at), col(ActionItem.id)).limit(limit)
    return [(item, release) for item, release in (await session.exec(query)).all()]
