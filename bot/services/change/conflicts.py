"""Conflicts of planned windows: with each other in the final environment, and with freezes. Runs inside the
caller's transaction (proposal, scheduling, freezing) or in its own read (answers, App Home)."""

from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import windows as rules
from bot.domain.change import Audit, post
from bot.domain.freezes import FreezeWindow
from bot.domain.lifecycle import OPEN, Status
from bot.domain.message import Message
from bot.domain.windows import PlannedWindow, WindowConflict
from bot.services.change.freeze_lookup import windows_between
from bot.services.kernel import release_state
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.kernel.hooks import HOOKS, Facts
from storage.models import Release
from storage.repositories import windows as windows_repo


class Planned(Protocol):
    """What a window is made of: a `Release`, or a row of `windows_repo.planned_rows`."""

    @property
    def id(self) -> int | None: ...
    @property
    def ref(self) -> str: ...
    @property
    def window_start(self) -> datetime | None: ...
    @property
    def window_end(self) -> datetime | None: ...
    @property
    def status(self) -> Status: ...
    @property
    def risk(self) -> str: ...
    @property
    def proposer_id(self) -> str: ...


def planned(ctx: ServiceContext, release: Planned) -> PlannedWindow | None:
    """The release's window as the calendar sees it: its slot in the final environment."""
    if release.window_start is None or release.window_end is None or release.id is None:
        return None
    return PlannedWindow(
        release_id=release.id,
        ref=release.ref,
        environment=ctx.policy.environment_names[-1],
        start=release.window_start,
        end=release.window_end,
        status=release.status,
        risk=release.risk,
        proposer_id=release.proposer_id,
    )


async def planned_between(
    session: AsyncSession, ctx: ServiceContext, team_id: str, start: datetime, end: datetime
) -> list[tuple[PlannedWindow, Release]]:
    rows = await windows_repo.overlapping(session=session, team_id=team_id, start=start, end=end, statuses=OPEN)
    return [(window, row) for row in rows if (window := planned(ctx, row)) is not None]


async def planned_windows_between(
    session: AsyncSession, ctx: ServiceContext, team_id: str, start: datetime, end: datetime
) -> list[PlannedWindow]:
    """Open releases' windows overlapping [start, end), read as rows (the calendar, conflicts, App Home)."""
    rows = await windows_repo.planned_rows(session=session, team_id=team_id, start=start, end=end, statuses=OPEN)
    return [window for row in rows if (window := planned(ctx, row)) is not None]


async def conflicts_for_release(session: AsyncSession, ctx: ServiceContext, release: Release) -> list[WindowConflict]:
    """What the release's window clashes with: other planned windows and freezes of the final environment."""
    window = planned(ctx, release)
    if window is None or release.status not in OPEN:
        return []
    others = await planned_windows_between(session, ctx, release.team_id, window.start, window.end)
    freezes = await windows_between(
        session, ctx, team_id=release.team_id, start=window.start, end=window.end, environment=window.environment
    )
    return rules.conflicts_of(window, others, freezes)


async def announce_conflicts(session: AsyncSession, ctx: ServiceContext, release: Release) -> list[WindowConflict]:
    """At proposal: find the window's conflicts and say so in the release's thread. Returns them."""
    found = await conflicts_for_release(session, ctx, release)
    if found:
        lines = [rules.describe(conflict, release.pk) for conflict in found]
        await release_state.say(session, ctx, release, post("thread_conflicts", lines=lines))
    return found


async def conflict_lines(ctx: ServiceContext, actor: Actor, release: Release) -> list[Message]:
    """The conflicts of one release, one line each, read afresh (for the proposer's answer)."""
    async with ctx.db.read() as session:
        found = await conflicts_for_release(session, ctx, release)
    return [rules.describe(conflict, release.pk) for conflict in found]


async def windows_in(
    session: AsyncSession, ctx: ServiceContext, *, team_id: str, freeze: FreezeWindow
) -> list[tuple[PlannedWindow, Release]]:
    """Planned windows that a (new) freeze now covers in part or whole."""
    found = await planned_between(session, ctx, team_id, freeze.start, freeze.end)
    return [(window, row) for window, row in found if window.environment in freeze.environments]


@HOOKS.after(Audit.PROPOSED)
async def _proposed(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    """A new proposal hears at once what its window clashes with."""
    await announce_conflicts(session, ctx, release)
