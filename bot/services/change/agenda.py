"""The calendar agenda: planned windows and freezes ahead, in time order, each window with its conflicts."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import windows as rules
from bot.domain.freezes import FreezeWindow
from bot.domain.message import Message
from bot.domain.windows import PlannedWindow
from bot.services.change.conflicts import planned_windows_between
from bot.services.change.freeze_lookup import windows_between
from bot.services.kernel.context import ServiceContext


@dataclass(frozen=True)
class AgendaItem:
    start: datetime
    end: datetime
    window: PlannedWindow | None = None
    freeze: FreezeWindow | None = None
    conflicts: Sequence[Message] = ()


@dataclass(frozen=True)
class Agenda:
    """Kept for the workspace a few seconds and shown to everyone in that time: never changed once built, so a
    render keys it once (`bot/render.py`)."""

    shared_unchanged: ClassVar[bool] = True
    days: int
    start: datetime
    end: datetime
    items: list[AgendaItem]
    conflict_count: int


async def agenda(ctx: ServiceContext, team_id: str, days: int, *, now: datetime | None = None) -> Agenda:
    """Windows and freezes from now for `days`, in time order, each window with the conflicts it takes part in."""
    async with ctx.db.read() as session:
        return await agenda_in(session, ctx, team_id, days, now=now)


async def agenda_in(
    session: AsyncSession, ctx: ServiceContext, team_id: str, days: int, *, now: datetime | None = None
) -> Agenda:
    """`agenda`, read in the caller's transaction (App Home reads everything in one)."""
    start = now or ctx.now()
    end = start + timedelta(days=days)
    windows = await planned_windows_between(session, ctx, team_id, start, end)
    freezes = await windows_between(session, ctx, team_id=team_id, start=start, end=end)
    found = rules.conflicts(windows, freezes)
    grouped = rules.by_release(found)
    items = [
        AgendaItem(
            w.start, w.end, window=w, conflicts=[rules.describe(c, w.release_id) for c in grouped.get(w.release_id, [])]
        )
        for w in windows
    ] + [AgendaItem(f.start, f.end, freeze=f) for f in freezes]
    items.sort(key=lambda item: (item.start, item.end, item.freeze is None))
    return Agenda(days, start, end, items, len(found))
