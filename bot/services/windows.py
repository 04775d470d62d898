"""Planning a release's production window (`/release schedule`): a new window is new scope, so approvals start over."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import grammar
from bot.domain import windows as rules
from bot.domain.errors import InvalidInput, InvalidTransition, NotAllowed
from bot.domain.lifecycle import Status
from bot.domain.mrkdwn import mention
from bot.domain.timeparse import parse_duration, parse_when, zone
from bot.services import approvals, lifecycle_hooks, lookup, release_card, releases
from bot.services.conflicts import PLANNED, conflicts_for_release
from bot.services.context import Actor, ServiceContext
from storage.models import Release
from storage.repositories import audit, subscriptions
from storage.types import utcnow

DEFAULT_LENGTH = timedelta(hours=1)
MAX_LENGTH = timedelta(days=7)
PAST_GRACE = timedelta(minutes=5)  # `now` typed a moment ago is not "in the past"


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
