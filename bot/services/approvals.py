"""Approve, reject, withdraw: quorum under the policy, separation of duties, exactly once under concurrency.

The release row is locked for the whole decision (PostgreSQL `FOR UPDATE`, SQLite `BEGIN IMMEDIATE`), and a
partial unique index allows one active decision per person and environment, so double clicks, Slack retries
and two processes at once all end with the right count and one "approved" transition.
"""

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import approval_policy
from bot.domain.approval_policy import ApprovalState, Members
from bot.domain.errors import InvalidTransition, NotAllowed, NotFound
from bot.domain.lifecycle import Event, Status, can, next_status
from bot.domain.policy import Environment
from bot.domain.validation import MAX_REASON, ReleaseRef, check_text
from bot.services import lifecycle_hooks, lookup, release_card
from bot.services.context import Actor, ServiceContext
from storage.models import Approval, Release
from storage.repositories import approvals as approvals_repo
from storage.repositories import audit, subscriptions
from storage.repositories import releases as releases_repo
from storage.types import utcnow

DECIDABLE = frozenset({Status.PROPOSED, Status.APPROVED, Status.IN_PROGRESS})


@dataclass(frozen=True)
class Outcome:
    release: Release
    message: str
    changed: bool = True


async def _load(ctx: ServiceContext, session: AsyncSession, actor: Actor, ref: ReleaseRef | int) -> Release:
    return await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)


async def _states(
    ctx: ServiceContext, session: AsyncSession, release: Release, members: Members
) -> list[ApprovalState]:
    assert release.id is not None
    decisions = await approvals_repo.active(session=session, team_id=release.team_id, release_id=release.id)
    return release_card.approval_states(ctx.policy, release, decisions, members)


def _target(
    ctx: ServiceContext, release: Release, states: list[ApprovalState], actor: Actor, members: Members
) -> Environment:
    """The first environment still short of approvals that this person may approve for."""
    pending = [ctx.policy.environment(state.environment) for state in states if not state.met]
    candidates = [env for env in pending if env is not None]
    if not candidates:
        raise InvalidTransition(f"{release.ref} already has every approval the policy asks for.")
    refusal: NotAllowed | None = None
    for env in candidates:
        try:
            approval_policy.check_may_approve(
                env,
                user_id=actor.user_id,
                proposer_id=release.proposer_id,
                release_managers=ctx.policy.release_managers,
                members=members,
                ref=release.ref,
            )
            return env
        except NotAllowed as error:
            refusal = refusal or error
    assert refusal is not None
    raise refusal


def _require_decidable(release: Release, verb: str) -> None:
    status = Status(release.status)
    if status not in DECIDABLE:
        raise InvalidTransition(f"{release.ref} is {status.label}, so it cannot be {verb}.")


async def approve(ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int, comment: str = "") -> Outcome:
    comment = check_text(comment, field="comment", limit=MAX_REASON, required=False)
    members = await ctx.directory.members(actor.team_id, release_card.group_ids(ctx.policy))
    try:
        async with ctx.db.transaction() as session:
            release = await _load(ctx, session, actor, ref)
            _require_decidable(release, "approved")
            states = await _states(ctx, session, release, members)
            env = _target(ctx, release, states, actor, members)
            state = next(s for s in states if s.environment == env.name)
            if actor.user_id in state.approved_by:
                return Outcome(release, f"You already approved {release.ref} for {env.name}.", changed=False)
            if actor.user_id in state.rejected_by:
                raise InvalidTransition(
                    f"You rejected {release.ref}; withdraw it first with `/release withdraw {release.ref}`."
                )
            groups = approval_policy.groups_of(env, actor.user_id, members)
            approvals_repo.add(
                session=session,
                approval=Approval(
                    team_id=actor.team_id,
                    release_id=release.pk,
                    environment=env.name,
                    user_id=actor.user_id,
                    decision="approve",
                    comment=comment,
                    group_name=groups[0] if groups else None,
                ),
            )
            await session.flush()
            audit.append(
                session=session,
                team_id=actor.team_id,
                actor_id=actor.user_id,
                action="approved",
                release_id=release.id,
                details={"environment": env.name, "comment": comment},
            )
            after = await _states(ctx, session, release, members)
            now_state = next(s for s in after if s.environment == env.name)
            release_card.thread(
                session, release, "thread_approved", actor=actor.user_id, state=now_state, comment=comment
            )
            if now_state.met:
                followers = await subscriptions.subscribers(
                    session=session, team_id=actor.team_id, service=release.service
                )
                release_card.stakeholders(
                    session,
                    ctx.policy,
                    release,
                    "stakeholders_approved",
                    subscribers=followers,
                    environment=env.name,
                )
            if all(s.met for s in after) and can(Status(release.status), Event.QUORUM_MET):
                await _move(session, ctx, release, Event.QUORUM_MET, actor)
            release.row_version += 1
            release.updated_at = utcnow()
            await release_card.refresh(session, ctx.policy, release, members)
    except IntegrityError:  # the same person's concurrent click won; this one changes nothing
        return await _already(ctx, actor, ref)
    ctx.kick()
    count = f"{min(len(now_state.approved_by), now_state.required)}/{now_state.required}"
    done = " It now has every approval it needs." if now_state.met else ""
    return Outcome(release, f"You approved {release.ref} for {env.name} ({count}).{done}")


async def _already(ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int) -> Outcome:
    async with ctx.db.read() as session:
        if isinstance(ref, int):
            release = await releases_repo.get_by_id(session=session, team_id=actor.team_id, release_id=ref)
        else:
            release = await releases_repo.get(
                session=session, team_id=actor.team_id, service=ref.service, version=ref.version
            )
    assert release is not None
    return Outcome(release, f"You already decided on {release.ref}.", changed=False)


async def _move(session: AsyncSession, ctx: ServiceContext, release: Release, event: Event, actor: Actor) -> None:
    before = release.status
    release.status = next_status(Status(release.status), event, ref=release.ref)
    audit.append(
        session=session,
        team_id=release.team_id,
        actor_id=actor.user_id,
        action="status",
        release_id=release.id,
        details={"from": before, "to": release.status, "event": event.value},
    )
    await lifecycle_hooks.after_status_change(session, ctx, release, before)


async def check_may_decide_by_id(ctx: ServiceContext, actor: Actor, release_id: int) -> Release:
    """Refuse early (before the reject modal opens) when this person may not decide on the release."""
    members = await ctx.directory.members(actor.team_id, release_card.group_ids(ctx.policy))
    async with ctx.db.read() as session:
        release = await releases_repo.get_by_id(session=session, team_id=actor.team_id, release_id=release_id)
        if release is None:
            raise NotFound("That release no longer exists in this workspace.")
        _require_decidable(release, "rejected")
        states = await _states(ctx, session, release, members)
    _reject_target(ctx, release, states, actor, members)
    return release


def _reject_target(
    ctx: ServiceContext, release: Release, states: list[ApprovalState], actor: Actor, members: Members
) -> str:
    if actor.user_id == release.proposer_id:
        raise NotAllowed(
            f"You proposed {release.ref}; cancel it with `/release cancel {release.ref}` instead of rejecting it."
        )
    gated = [ctx.policy.environment(s.environment) for s in states]
    for env in [e for e in gated if e is not None]:
        try:
            approval_policy.check_may_approve(
                env,
                user_id=actor.user_id,
                proposer_id=release.proposer_id,
                release_managers=ctx.policy.release_managers,
                members=members,
                ref=release.ref,
            )
            return env.name
        except NotAllowed:
            continue
    is_manager = any(
        actor.user_id == rm or actor.user_id in members.get(rm, frozenset()) for rm in ctx.policy.release_managers
    )
    if is_manager:
        return ctx.policy.environment_names[-1]
    envs = [e for e in gated if e is not None]
    who = (
        approval_policy.who_can_approve(envs[0], ctx.policy.release_managers) if envs else "Only release managers can."
    )
    raise NotAllowed(f"You may not reject {release.ref}. {who}")


async def reject(ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int, reason: str) -> Outcome:
    reason = check_text(reason, field="reason", limit=MAX_REASON)
    members = await ctx.directory.members(actor.team_id, release_card.group_ids(ctx.policy))
    async with ctx.db.transaction() as session:
        release = await _load(ctx, session, actor, ref)
        _require_decidable(release, "rejected")
        states = await _states(ctx, session, release, members)
        env_name = _reject_target(ctx, release, states, actor, members)
        await approvals_repo.invalidate(
            session=session, team_id=actor.team_id, release_id=release.pk, user_id=actor.user_id
        )
        approvals_repo.add(
            session=session,
            approval=Approval(
                team_id=actor.team_id,
                release_id=release.pk,
                environment=env_name,
                user_id=actor.user_id,
                decision="reject",
                comment=reason,
            ),
        )
        audit.append(
            session=session,
            team_id=actor.team_id,
            actor_id=actor.user_id,
            action="rejected",
            release_id=release.id,
            details={"environment": env_name, "reason": reason},
        )
        await _move(session, ctx, release, Event.REJECTED, actor)
        release.row_version += 1
        release.updated_at = utcnow()
        release_card.thread(
            session, release, "thread_rejected", actor=actor.user_id, reason=reason, environment=env_name
        )
        await release_card.refresh(session, ctx.policy, release, members)
    ctx.kick()
    return Outcome(release, f"You rejected {release.ref}. The proposer sees your reason in the thread.")


async def withdraw(ctx: ServiceContext, actor: Actor, ref: ReleaseRef) -> Outcome:
    members = await ctx.directory.members(actor.team_id, release_card.group_ids(ctx.policy))
    async with ctx.db.transaction() as session:
        release = await _load(ctx, session, actor, ref)
        assert release.id is not None
        withdrawn = await approvals_repo.invalidate(
            session=session,
            team_id=actor.team_id,
            release_id=release.id,
            user_id=actor.user_id,
            decision="reject",
        )
        if not withdrawn:
            raise NotAllowed(f"You have no rejection of {release.ref} to withdraw; only its author can withdraw one.")
        audit.append(
            session=session,
            team_id=actor.team_id,
            actor_id=actor.user_id,
            action="rejection_withdrawn",
            release_id=release.id,
        )
        states = await _states(ctx, session, release, members)
        if not any(s.rejected_by for s in states) and can(Status(release.status), Event.REJECTION_WITHDRAWN):
            await _move(session, ctx, release, Event.REJECTION_WITHDRAWN, actor)
            if states and all(s.met for s in states):
                await _move(session, ctx, release, Event.QUORUM_MET, actor)
        release.row_version += 1
        release.updated_at = utcnow()
        release_card.thread(session, release, "thread_withdrawn", actor=actor.user_id)
        await release_card.refresh(session, ctx.policy, release, members)
    ctx.kick()
    return Outcome(release, f"You withdrew your rejection of {release.ref}.")


async def invalidate_for_scope_change(
    session: AsyncSession, ctx: ServiceContext, release: Release, actor: Actor, what: str
) -> list[str]:
    """Scope changed: every approval starts over and the approvers who gave one are told. Returns them."""
    assert release.id is not None
    decisions = await approvals_repo.active(session=session, team_id=release.team_id, release_id=release.id)
    approvers = [d.user_id for d in decisions if d.decision == "approve"]
    if not approvers:
        return []
    await approvals_repo.invalidate(session=session, team_id=release.team_id, release_id=release.id, decision="approve")
    audit.append(
        session=session,
        team_id=release.team_id,
        actor_id=actor.user_id,
        action="approvals_invalidated",
        release_id=release.id,
        details={"because": what, "approvers": approvers},
    )
    if can(Status(release.status), Event.SCOPE_CHANGED):
        before = release.status
        release.status = next_status(Status(release.status), Event.SCOPE_CHANGED, ref=release.ref)
        if before != release.status:
            audit.append(
                session=session,
                team_id=release.team_id,
                actor_id=actor.user_id,
                action="status",
                release_id=release.id,
                details={"from": before, "to": release.status, "event": Event.SCOPE_CHANGED.value},
            )
            await lifecycle_hooks.after_status_change(session, ctx, release, before)
    release_card.thread(session, release, "thread_scope_changed", actor=actor.user_id, what=what, approvers=approvers)
    return approvers


async def approve_by_id(ctx: ServiceContext, actor: Actor, release_id: int, comment: str = "") -> Outcome:
    return await approve(ctx, actor, release_id, comment)


async def reject_by_id(ctx: ServiceContext, actor: Actor, release_id: int, reason: str) -> Outcome:
    return await reject(ctx, actor, release_id, reason)
