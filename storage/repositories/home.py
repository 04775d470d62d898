"""What one person's App Home shows: open releases with their decisions, their releases and their open action
items, each in one query."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.lifecycle import Status
from storage.models import ActionItem, Approval, Release


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


class OpenRelease(NamedTuple):
    """An open release as the App Home weighs and shows it (a plain row: the Home reads up to 200 of them)."""

    id: int
    service: str
    version: str
    status: Status
    risk: str
    proposer_id: str
    summary: str
    window_start: datetime | None
    scope_changed_by: str  # who last changed its scope (never the one to approve it)

    @property
    def ref(self) -> str:
        return f"{self.service}@{self.version}"


class Decided(NamedTuple):
    """An active approval or rejection (`approval_policy.Decision`), as a plain row."""

    release_id: int
    environment: str
    user_id: str
    decision: str


async def open_releases(
    *, session: AsyncSession, team_id: str, statuses: Iterable[Status], limit: int, before_id: int | None = None
) -> list[OpenRelease]:
    """The newest releases in `statuses` (older than `before_id`), newest first, as rows (core select)."""
    table = Release.__table__  # type: ignore[attr-defined]
    columns = [table.c[name] for name in OpenRelease._fields]
    query = core_select(*columns).where(table.c.team_id == team_id, table.c.status.in_(sorted(statuses)))
    if before_id is not None:
        query = query.where(table.c.id < before_id)
    query = query.order_by(table.c.id.desc()).limit(limit)
    connection = await session.connection()
    return [OpenRelease(*row) for row in await connection.execute(query)]


async def decisions_of(*, session: AsyncSession, team_id: str, release_ids: Sequence[int]) -> dict[int, list[Decided]]:
    """Active decisions of many releases in one query, keyed by release (every id present)."""
    grouped: dict[int, list[Decided]] = {release_id: [] for release_id in release_ids}
    if not release_ids:
        return grouped
    table = Approval.__table__  # type: ignore[attr-defined]
    query = (
        core_select(*[table.c[name] for name in Decided._fields])
        .where(table.c.team_id == team_id, table.c.release_id.in_(release_ids), table.c.invalidated_at.is_(None))
        .order_by(table.c.id)
    )
    connection = await session.connection()
    for row in await connection.execute(query):
        grouped[row[0]].append(Decided(*row))
    return grouped
