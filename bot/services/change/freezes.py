"""Freezing and unfreezing environments (release managers only), and listing the freezes in force or ahead."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import freezes as freeze_rules
from bot.domain import permissions
from bot.domain.change import Audit, post
from bot.domain.errors import InvalidInput, InvalidTransition, NotFound
from bot.domain.freezes import FreezeWindow
from bot.domain.grammar import change as commands
from bot.domain.message import Code, Mention
from bot.domain.permissions import Permission
from bot.domain.policy import RecurringFreeze
from bot.domain.timeparse import parse_when, zone
from bot.domain.windows import PlannedWindow
from bot.render import render, render_text
from bot.services.change import conflicts
from bot.services.change.freeze_lookup import window_of, windows_between
from bot.services.kernel import lookup, refusals, release_state
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.kernel.hooks import HOOKS
from storage.models import Freeze
from storage.repositories import audit, outbox
from storage.repositories import freezes as freezes_repo

MAX_FREEZE = timedelta(days=366)
LIST_AHEAD = timedelta(days=90)


@dataclass(frozen=True)
class FreezeOutcome:
    freeze: FreezeWindow
    affected: list[PlannedWindow]  # planned windows that now fall inside the freeze


@dataclass(frozen=True)
class RuleView:
    rule: RecurringFreeze
    description: str
    next: FreezeWindow | None  # the occurrence in force now, or the next one


@dataclass(frozen=True)
class FreezeList:
    one_off: list[FreezeWindow]
    rules: list[RuleView]
    now: datetime


async def require(ctx: ServiceContext, actor: Actor, action: Permission) -> None:
    """Refuse, saying who can, unless the policy lets `actor` take the workspace-wide `action` (freeze, …); the
    refusal is audited under what was refused ("freeze an environment")."""
    doing = permissions.rule(None, action).doing().plain()
    async with refusals.audited(ctx, actor, doing):
        lookup.check(ctx, actor, await ctx.members(actor.team_id), action)


def _announce(session: AsyncSession, ctx: ServiceContext, team_id: str, text: str) -> None:
    """Freezes concern everyone: the coordination channel and the default stakeholder channel hear of them."""
    payload = render("message", text=text, context=None)
    channels = {ctx.policy.slack.coordination_channel, ctx.policy.slack.stakeholder_channel} - {None}
    for channel in sorted(c for c in channels if c):
        outbox.enqueue(session=session, team_id=team_id, kind="post", channel=channel, payload=payload)


async def freeze(ctx: ServiceContext, actor: Actor, command: commands.Freeze) -> FreezeOutcome:
    if ctx.policy.environment(command.environment) is None:
        known = ", ".join(ctx.policy.environment_names)
        raise InvalidInput(
            "{env} is not an environment; known: {known}.", env=Code(command.environment, 30), known=known
        )
    await require(ctx, actor, Permission.FREEZE)
    now = ctx.now()
    tz = zone(ctx.policy.timezone)
    start = parse_when(command.start, now=now, tz=tz)
    end = parse_when(command.end, now=now, tz=tz)
    if end <= start:
        raise InvalidInput("The freeze must end after it starts: `/release freeze <env> <from> <until> <reason…>`.")
    if end <= now:
        raise InvalidInput("That freeze would already be over; give an end in the future.")
    if end - start > MAX_FREEZE:
        raise InvalidInput("A freeze may last at most a year; for something regular, add `[[freezes]]` to the policy.")
    async with ctx.db.transaction() as session:
        row = freezes_repo.add(
            session,
            Freeze(
                team_id=actor.team_id,
                environment=command.environment,
                start_at=start,
                end_at=end,
                reason=command.reason,
                created_by=actor.user_id,
            ),
        )
        await session.flush()
        window = window_of(row)
        audit.append(
            session,
            actor.team_id,
            actor.user_id,
            Audit.FREEZE_CREATED,
            details={
                "freeze_id": row.id,
                "environment": row.environment,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "reason": row.reason,
            },
        )
        _announce(session, ctx, actor.team_id, render_text("freeze_announced", freeze=window, actor=actor.user_id))
        affected = await conflicts.windows_in(session, ctx, team_id=actor.team_id, freeze=window)
        for _window, release in affected:
            await release_state.say(session, ctx, release, post("thread_freeze_conflict", freeze=window))
    return FreezeOutcome(window, [planned for planned, _ in affected])


async def unfreeze(ctx: ServiceContext, actor: Actor, freeze_id: int) -> FreezeWindow:
    await require(ctx, actor, Permission.UNFREEZE)
    now = ctx.now()
    async with ctx.db.transaction() as session:
        row = await freezes_repo.lock(session=session, team_id=actor.team_id, freeze_id=freeze_id)
        if row is None:
            raise NotFound("There is no freeze #{id}. See the freezes with `/release freezes`.", id=freeze_id)
        if row.lifted_at is not None:
            raise InvalidTransition(
                "Freeze #{id} was already lifted by {who}.", id=freeze_id, who=Mention(row.lifted_by or "")
            )
        if row.end_at <= now:
            raise InvalidTransition("Freeze #{id} is already over; there is nothing to lift.", id=freeze_id)
        row.lifted_at, row.lifted_by = now, actor.user_id
        session.add(row)
        audit.append(
            session,
            actor.team_id,
            actor.user_id,
            Audit.FREEZE_LIFTED,
            details={"freeze_id": row.id, "environment": row.environment},
        )
        window = window_of(row)
        _announce(session, ctx, actor.team_id, render_text(Audit.FREEZE_LIFTED, freeze=window, actor=actor.user_id))
        await HOOKS.freeze_lifted(session, ctx, actor.team_id, row.environment)
    return window


async def listing(ctx: ServiceContext, actor: Actor) -> FreezeList:
    now = ctx.now()
    async with ctx.db.read() as session:
        found = await windows_between(session, ctx, team_id=actor.team_id, start=now, end=now + MAX_FREEZE)
    one_off = [window for window in found if not window.recurring]
    rules = []
    for rule in ctx.policy.freezes:
        upcoming = freeze_rules.rule_windows(rule, ctx.policy, now, now + LIST_AHEAD)
        rules.append(RuleView(rule, freeze_rules.describe_rule(rule), upcoming[0] if upcoming else None))
    return FreezeList(one_off, rules, now)
