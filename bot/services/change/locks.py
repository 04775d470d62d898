"""Deploy locks, as people use them: take one (or queue for it), lift one, see them all; the "extend", "take it"
and "pass" buttons; and what the gates and App Home read. Who may: `bot.domain.permissions` (`lock`, `lift a
lock`). What happens with time and the queue: `lock_handover`."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import locks as lock_rules
from bot.domain import permissions
from bot.domain.change import Audit
from bot.domain.errors import InvalidInput, InvalidTransition, NotFound
from bot.domain.gates import GateFacts
from bot.domain.grammar import locks as commands
from bot.domain.grammar import parse
from bot.domain.locks import ActiveLock, Ending, LockState, label
from bot.domain.message import Code, Mention, Message, When
from bot.domain.permissions import Permission, Who
from bot.domain.policy import Environment
from bot.services.change import lock_handover
from bot.services.change.lock_handover import details
from bot.services.kernel import refusals
from bot.services.kernel.context import Actor, ServiceContext
from storage.db import Reader
from storage.models import DeployLock, LockQueueEntry
from storage.repositories import audit
from storage.repositories import locks as locks_repo


@dataclass(frozen=True)
class LockOutcome:
    message: Message
    lock: DeployLock | None = None
    position: int | None = None  # the person's place in the queue, when they queued


@dataclass(frozen=True)
class MyLock:
    """A lock of one person, as App Home shows it (values only)."""

    service: str
    environment: str
    offered: bool
    until: datetime
    reason: str


@dataclass(frozen=True)
class QueuePlace:
    service: str
    environment: str
    position: int


@dataclass(frozen=True)
class LockList:
    locks: list[DeployLock]
    queues: dict[tuple[str, str], list[LockQueueEntry]]  # (service, environment) → who waits, in order
    now: datetime


def _environment(ctx: ServiceContext, name: str) -> Environment:
    env = ctx.policy.environment(name)
    if env is None:
        known = ", ".join(ctx.policy.environment_names)
        raise InvalidInput("{env} is not an environment; known: {known}.", env=Code(name, 30), known=known)
    return env


def active(row: DeployLock) -> ActiveLock:
    return ActiveLock(
        row.pk, row.service, row.environment, row.holder, row.reason, row.until, row.state == LockState.OFFERED
    )


async def active_locks(
    session: AsyncSession, *, team_id: str, service: str, environment: str, at: datetime
) -> list[ActiveLock]:
    """The locks covering `service` in `environment` at `at`, for the gates."""
    rows = await locks_repo.in_force(session=session, team_id=team_id, environment=environment, service=service, at=at)
    return [active(row) for row in rows]


def record_bypass(session: AsyncSession, actor: Actor, release_id: int, facts: GateFacts) -> None:
    """A deployment through an all-services lock by `[locks] bypass`: one audit event per lock it went through."""
    _lock, bypassed = lock_rules.blocking(facts.locks, acting_for=facts.lock_acting_for, bypass=facts.lock_bypass)
    for lock in bypassed:
        audit.append(
            session,
            actor.team_id,
            actor.user_id,
            Audit.LOCK_BYPASSED,
            release_id=release_id,
            details={"lock_id": lock.lock_id, "environment": lock.environment, "holder": lock.holder},
        )


def _held(row: DeployLock, verb: str) -> Message:
    return Message(
        "{verb} {what} until {until}: {reason}. Lift it early with {unlock}.",
        verb=verb,
        what=label(row.service, row.environment),
        until=When(row.until),
        reason=row.reason,
        unlock=Code(f"/release unlock {row.service} {row.environment}"),
    )


async def lock(ctx: ServiceContext, actor: Actor, command: commands.Lock) -> LockOutcome:
    """Take the lock; extend it when it is yours already; queue for it when someone else holds it."""
    env = _environment(ctx, command.environment)
    length = lock_rules.length(command.duration, ctx.policy.locks)
    members = await ctx.members(actor.team_id)
    async with (
        refusals.audited(ctx, actor, "lock", environment=env.name, service=command.service),
        ctx.db.transaction() as session,
    ):
        permissions.check(ctx.policy, env, Permission.LOCK, user_id=actor.user_id, members=members)
        await locks_repo.serialise(
            session=session, team_id=actor.team_id, service=command.service, environment=env.name
        )
        outcome = await _lock_slot(session, ctx, actor, command, length)
    return outcome


async def _lock_slot(
    session: AsyncSession, ctx: ServiceContext, actor: Actor, command: commands.Lock, length: timedelta
) -> LockOutcome:
    service, environment = command.service, command.environment
    current = await locks_repo.live(session=session, team_id=actor.team_id, service=service, environment=environment)
    now = ctx.now()
    if current is not None and current.until <= now:  # run out; its expiry job has not run yet
        ending = Ending.PASSED if current.state == LockState.OFFERED else Ending.EXPIRED
        current = await lock_handover.end(session, ctx, current, ending, by=None)
    if current is None:
        row = locks_repo.add(
            session,
            DeployLock(
                team_id=actor.team_id,
                holder=actor.user_id,
                reason=command.reason,
                since=now,
                until=now + length,
                length_seconds=int(length.total_seconds()),
                service=service,
                environment=environment,
            ),
        )
        await session.flush()
        await lock_handover.schedule(session, ctx, row)
        audit.append(session, actor.team_id, actor.user_id, Audit.LOCK_TAKEN, details=details(row))
        lock_handover.changed(session, ctx, actor.team_id, command.environment)
        return LockOutcome(_held(row, "You locked"), row)
    if current.holder == actor.user_id:
        if current.state == LockState.OFFERED:
            current.length_seconds = int(length.total_seconds())
            await lock_handover.take_offer(session, ctx, current)
            return LockOutcome(_held(current, "You took"), current)
        current.until = max(current.until, now + length)
        session.add(current)
        await lock_handover.schedule(session, ctx, current)
        audit.append(session, actor.team_id, actor.user_id, Audit.LOCK_EXTENDED, details=details(current))
        return LockOutcome(_held(current, "You hold"), current)
    return await _queue(session, actor, command, current, length)


async def _queue(
    session: AsyncSession, actor: Actor, command: commands.Lock, current: DeployLock, length: timedelta
) -> LockOutcome:
    waiting = await locks_repo.waiting(
        session=session, team_id=actor.team_id, service=command.service, environment=command.environment
    )
    mine = next((i for i, entry in enumerate(waiting, 1) if entry.user_id == actor.user_id), None)
    if mine is None:
        entry = locks_repo.enqueue(
            session,
            LockQueueEntry(
                team_id=actor.team_id,
                service=command.service,
                environment=command.environment,
                user_id=actor.user_id,
                reason=command.reason,
                length_seconds=int(length.total_seconds()),
            ),
        )
        await session.flush()
        mine = len(waiting) + 1
        audit.append(
            session,
            actor.team_id,
            actor.user_id,
            Audit.LOCK_QUEUED,
            details={**details(current), "queued": actor.user_id, "position": mine, "queue_id": entry.id},
        )
        verb = "You are"
    else:
        verb = "You are already"
    return LockOutcome(
        Message(
            "{what} is locked by {holder} until {until}: {reason}. {verb} number {place} in the queue; "
            "Shipmate will DM you when it is yours.",
            what=label(current.service, current.environment),
            holder=Mention(current.holder),
            until=When(current.until),
            reason=current.reason,
            verb=verb,
            place=mine,
        ),
        current,
        mine,
    )


async def unlock(ctx: ServiceContext, actor: Actor, command: commands.Unlock) -> LockOutcome:
    """Lift the lock early: its holder, a deployer of the environment or a release manager. The queue moves on."""
    env = _environment(ctx, command.environment)
    members = await ctx.members(actor.team_id)
    service = command.service
    what = label(service, env.name)
    async with (
        refusals.audited(ctx, actor, "lift a lock", environment=env.name, service=service),
        ctx.db.transaction() as session,
    ):
        await locks_repo.serialise(session=session, team_id=actor.team_id, service=service, environment=env.name)
        current = await locks_repo.live(session=session, team_id=actor.team_id, service=service, environment=env.name)
        if current is None or current.until <= ctx.now():
            raise NotFound("{what} is not locked; see the locks with `/release locks`.", what=what)
        permissions.check(
            ctx.policy,
            env,
            Permission.LIFT_LOCK,
            user_id=actor.user_id,
            members=members,
            ref=what,
            parties={Who.LOCK_HOLDER: current.holder},
        )
        offered = await lock_handover.end(session, ctx, current, Ending.LIFTED, by=actor.user_id)
    after = Message(" It is offered to {next}, next in the queue.", next=Mention(offered.holder)) if offered else ""
    return LockOutcome(
        Message(
            "You lifted the lock of {what} held by {holder}.{after}",
            what=what,
            holder=Mention(current.holder),
            after=after,
        )
    )


async def listing(ctx: ServiceContext, actor: Actor) -> LockList:
    now = ctx.now()
    async with ctx.db.read() as session:
        rows = await locks_repo.all_live(session=session, team_id=actor.team_id, at=now)
        waiting = await locks_repo.waiting(session=session, team_id=actor.team_id)
    queues: dict[tuple[str, str], list[LockQueueEntry]] = {}
    for entry in waiting:
        queues.setdefault((entry.service, entry.environment), []).append(entry)
    return LockList(list(rows), queues, now)


async def of_person(
    session: Reader, *, team_id: str, user_id: str, at: datetime
) -> tuple[list[MyLock], list[QueuePlace]]:
    """A person's locks (held, or offered to them) and their places in queues, for App Home."""
    held = await locks_repo.held_rows(session=session, team_id=team_id, user_id=user_id, at=at)
    places = await locks_repo.places_of(session=session, team_id=team_id, user_id=user_id)
    return person_view(held, places)


def person_view(
    held: Iterable[Sequence[Any]], places: Iterable[Sequence[Any]]
) -> tuple[list[MyLock], list[QueuePlace]]:
    """`of_person` from the rows of `locks_repo.HELD` and `locks_repo.PLACES`."""
    mine = [
        MyLock(service, env, state == LockState.OFFERED, until, reason) for service, env, state, until, reason in held
    ]
    return mine, [QueuePlace(service, environment, int(position)) for service, environment, position in places]


# -- the buttons in the DMs ------------------------------------------------------------------------------------------
async def _mine(session: AsyncSession, ctx: ServiceContext, actor: Actor, value: str, state: LockState) -> DeployLock:
    if not value.isdigit():
        raise InvalidInput("That button is out of date; see the locks with `/release locks`.")
    row = await locks_repo.by_id(session=session, team_id=actor.team_id, lock_id=int(value))
    if row is None or row.holder != actor.user_id:
        raise NotFound("That lock is not yours; see the locks with `/release locks`.")
    if row.state != state or row.until <= ctx.now():
        raise InvalidTransition(
            "The lock of {what} is no longer {state}; see the locks with `/release locks`.",
            what=label(row.service, row.environment),
            state="yours" if state == LockState.HELD else "offered to you",
        )
    return row


async def _slot(session: AsyncSession, actor: Actor, value: str) -> None:
    """Serialise on the lock's slot before its row is locked (the order every lock use case takes)."""
    if value.isdigit():
        row = await session.get(DeployLock, int(value))
        if row is not None and row.team_id == actor.team_id:
            await locks_repo.serialise(
                session=session, team_id=actor.team_id, service=row.service, environment=row.environment
            )


async def queue_from_refusal(ctx: ServiceContext, actor: Actor, value: str) -> LockOutcome:
    """The "Queue" button on a refusal by a lock (`<service|*> <env> <service@version>`): queue for that slot, or
    take it when it has ended meanwhile."""
    service, environment, ref = [*value.split(" ", 2), "", "", ""][:3]
    command = parse(f"lock {service} {environment} to deploy {ref}"[:300])  # a button's value is checked like text
    if not isinstance(command, commands.Lock) or not ref:
        raise InvalidInput("That button is out of date; use `/release lock <service|*> <env> <reason…>` instead.")
    return await lock(ctx, actor, command)


async def extend(ctx: ServiceContext, actor: Actor, value: str) -> LockOutcome:
    async with ctx.db.transaction() as session:
        await _slot(session, actor, value)
        row = await _mine(session, ctx, actor, value, LockState.HELD)
        row.until = max(row.until, lock_rules.extended_until(ctx.now(), ctx.policy.locks))
        session.add(row)
        await lock_handover.schedule(session, ctx, row)
        audit.append(session, actor.team_id, actor.user_id, Audit.LOCK_EXTENDED, details=details(row))
    return LockOutcome(_held(row, "You extended your lock of"), row)


async def take(ctx: ServiceContext, actor: Actor, value: str) -> LockOutcome:
    async with ctx.db.transaction() as session:
        await _slot(session, actor, value)
        row = await _mine(session, ctx, actor, value, LockState.OFFERED)
        await lock_handover.take_offer(session, ctx, row)
    return LockOutcome(_held(row, "You took"), row)


async def pass_on(ctx: ServiceContext, actor: Actor, value: str) -> LockOutcome:
    async with ctx.db.transaction() as session:
        await _slot(session, actor, value)
        row = await _mine(session, ctx, actor, value, LockState.OFFERED)
        offered = await lock_handover.end(session, ctx, row, Ending.PASSED, by=actor.user_id)
    after = Message(" It is offered to {next}.", next=Mention(offered.holder)) if offered else ""
    return LockOutcome(Message("You passed on {what}.{after}", what=label(row.service, row.environment), after=after))
