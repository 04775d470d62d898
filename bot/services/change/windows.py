"""Planning a release's production window (`/release schedule`): a new window is new scope, so approvals start over."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import windows as rules
from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.errors import InvalidInput
from bot.domain.grammar import change as commands
from bot.domain.lifecycle import Act, require
from bot.domain.message import Message
from bot.domain.permissions import Permission
from bot.domain.policy import DEFAULT_WINDOW
from bot.domain.scope import LABELS
from bot.domain.timeparse import parse_duration, parse_when, zone
from bot.services.change.conflicts import conflicts_for_release
from bot.services.kernel import lookup, refusals, release_state
from bot.services.kernel.context import Actor, ServiceContext
from storage.models import Release

MAX_LENGTH = timedelta(days=7)
PAST_GRACE = timedelta(minutes=5)  # `now` typed a moment ago is not "in the past"


@dataclass(frozen=True)
class Scheduled:
    release: Release
    changed: bool
    conflicts: list[Message]
    approvals_reset: list[str]


async def schedule(ctx: ServiceContext, actor: Actor, command: commands.Schedule) -> Scheduled:
    now = ctx.now()
    start = parse_when(command.when, now=now, tz=zone(ctx.policy.timezone))
    length = parse_duration(command.duration) if command.duration else None
    if start < now - PAST_GRACE:
        raise InvalidInput(
            "That window starts in the past; give a time ahead, like `+2h` or `2026-12-01T14:00`.", field="window"
        )
    if length is not None and length > MAX_LENGTH:
        raise InvalidInput("A planned window may last at most 7 days.", field="window")
    members = await ctx.members(actor.team_id)
    ref = command.ref
    async with refusals.audited(ctx, actor, "schedule", release=ref), ctx.db.transaction() as session:
        release = await lookup.owned_release(session, ctx, actor, ref, members, action=Permission.SCHEDULE)
        require(Act.SCHEDULE, release.status, ref=release.ref)
        if length is None:  # keep the window's length, or the default for a first window
            planned_start, planned_end = release.window_start, release.window_end
            length = planned_end - planned_start if planned_start and planned_end else DEFAULT_WINDOW
        end = start + length
        if (release.window_start, release.window_end) == (start, end):
            found = await conflicts_for_release(session, ctx, release)
            return Scheduled(release, False, [rules.describe(c, release.pk) for c in found], [])
        before = {"start": _iso(release.window_start), "end": _iso(release.window_end)}
        release.window_start, release.window_end = start, end
        found = await conflicts_for_release(session, ctx, release)
        lines = [rules.describe(conflict, release.pk) for conflict in found]
        change = ReleaseChange(
            Audit.SCHEDULED,
            {"from": before, "to": {"start": _iso(start), "end": _iso(end)}},
            scope=LABELS["window"],
            thread=post("thread_scheduled", actor=actor.user_id, lines=lines),
            keep_thread=True,  # it says which plans clash with the new window
            stakeholders=post("stakeholders_scheduled"),
        )
        reset = await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
    return Scheduled(release, True, lines, reset)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
