"""Releases by their planned window, for the calendar, conflicts and App Home."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Integer, bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.lifecycle import Status
from storage.db import rows_of
from storage.models import Release
from storage.models.tables import RELEASES, select_fields


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


class PlannedRow(NamedTuple):
    """A release's planned window as a plain row: what the calendar and its conflicts read."""

    id: int
    service: str
    version: str
    status: Status
    risk: str
    proposer_id: str
    window_start: datetime | None
    window_end: datetime | None

    @property
    def ref(self) -> str:
        return f"{self.service}@{self.version}"


_PLANNED_ROWS = (
    select_fields(RELEASES, PlannedRow._fields)
    .where(
        RELEASES.c.team_id == bindparam("team_id"),
        RELEASES.c.status.in_(bindparam("statuses", expanding=True)),
        RELEASES.c.window_start.is_not(None),
        RELEASES.c.window_start < bindparam("end"),
        RELEASES.c.window_end > bindparam("start"),
    )
    .order_by(RELEASES.c.window_start, RELEASES.c.id)
    .limit(bindparam("limit", type_=Integer))
)


async def planned_rows(
    *,
    session: AsyncSession,
    team_id: str,
    start: datetime,
    end: datetime,
    statuses: Iterable[Status],
    limit: int = 500,
) -> list[PlannedRow]:
    """`overlapping` as rows (core select, no ORM objects, the statement built once): for reads that only weigh
    windows."""
    params = {"team_id": team_id, "statuses": sorted(statuses), "start": start, "end": end, "limit": limit}
    connection = await rows_of(session)
    return [PlannedRow(*row) for row in (await connection.execute(_PLANNED_ROWS, params)).all()]
