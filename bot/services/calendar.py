"""Planned windows: scheduling a release, the calendar of windows and freezes, and conflicts between them."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import calendar as rules
from bot.domain import grammar
from bot.domain.calendar import PlannedWindow
from bot.domain.errors import InvalidInput, InvalidTransition, NotAllowed
from bot.domain.freezes import FreezeWindow
from bot.domain.lifecycle import Status
from bot.domain.mrkdwn import mention
from bot.domain.timeparse import parse_duration, parse_when, zone
from bot.services import approvals, lifecycle_hooks, lookup, release_card, releases
from bot.services.conflicts import PLANNED, conflicts_for_release, planned_between
from bot.services.context import Actor, ServiceContext
from bot.services.freeze_lookup import windows_between
from storage.models import Release
from storage.repositories import audit, subscriptions
from storage.types import utcnow

DEFAULT_LENGTH = timedelta(hours=1)
MAX_LENGTH = timedelta(days=7)
PAST_GRACE = timedelta(minutes=5)  # `now` typed a moment ago is not "in the past"


@dataclass(frozen=True)
class AgendaItem:
    start: datetime
    end: datetime
    window: PlannedWindow | None = None
    freeze: FreezeWindow | None = None
    conflicts: Sequence[str] = ()


@dataclass(frozen=True)
class Agenda:
    days: int
    start: datetime
    end: datetime
    items: list[AgendaItem]
    conflict_count: int


async def agenda(ctx: ServiceContext, team_id: str, days: int, *, now: datetime | None = None) -> Agenda:
    """Windows and freezes from now for `days`, in time order, each window with the conflicts it takes part in."""
    start = now or ctx.now()
    end = start + timedelta(days=days)
    async with ctx.db.read() as session:
        planned_rows = await planned_between(session, ctx, team_id, start, end)
        freezes = await windows_between(session, ctx, team_id=team_id, start=start, end=end)
    windows = [window for window, _ in planned_rows]
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


@dataclass(frozen=True)
class Scheduled:
    release: Release
    changed: bool
    conflicts: list[str]
    approvals_reset: list[str]


async def schedule(ctx: ServiceContext, actor: Actor, command: grammar.Schedule) -> Scheduled:
    now = ctx.now()
    start = parse_when(command.when, now=now, tz=zone(ctx.policy.timezone))
    length = parse_duration(command.duration) if command.duration else None
    if start < now - PAST_GRACE:
        raise InvalidInput("That window starts in the past; give a time ahead, like `+2h` or `2026-12-01T14:00`.")
    if length is not None and length > MAX_LENGTH:
        raise InvalidInput("A planned window may last at most 7 days.")
    members = await ctx.directory.members(actor.team_id, release_card.group_ids(ctx.policy))
    ref = command.ref
    async with ctx.db.transaction() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)
        if actor.user_id != release.proposer_id and not releases.is_release_manager(ctx, actor.user_id, members):
            raise NotAllowed(
                f"Only the proposer ({mention(release.proposer_id)}) or a release manager can schedule {ref}."
            )
        if release.status not in PLANNED:
            raise InvalidTransition(f"{ref} is {Status(release.status).label}, so its window can no longer change.")
        if length is None:
            has_window = release.window_start is not None and release.window_end is not None
            length = release.window_end - release.window_start if has_window else DEFAULT_LENGTH  # type: ignore[operator]
        end = start + length
        if (release.window_start, release.window_end) == (start, end):
            found = await conflicts_for_release(session, ctx, release)
            return Scheduled(release, False, [rules.describe(c, release.id) for c in found], [])
        before = {"start": _iso(release.window_start), "end": _iso(release.window_end)}
        release.window_start, release.window_end = start, end
        release.row_version += 1
        release.updated_at = utcnow()
        session.add(release)
        audit.append(
            session=session,
            team_id=actor.team_id,
            actor_id=actor.user_id,
            action="scheduled",
            release_id=release.id,
            details={"from": before, "to": {"start": _iso(start), "end": _iso(end)}},
        )
        reset = await approvals.invalidate_for_scope_change(session, ctx, release, actor, "planned window")
        found = await conflicts_for_release(session, ctx, release)
        lines = [rules.describe(conflict, release.id) for conflict in found]
        release_card.thread(session, release, "thread_scheduled", actor=actor.user_id, lines=lines)
        followers = await subscriptions.subscribers(session=session, team_id=actor.team_id, service=release.service)
        release_card.stakeholders(session, ctx.policy, release, "stakeholders_scheduled", subscribers=followers)
        await release_card.refresh(session, ctx.policy, release, members)
        await lifecycle_hooks.after_window_change(session, ctx, release)
    ctx.kick()
    return Scheduled(release, True, lines, reset)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
