"""Approve, reject, withdraw: quorum under the policy, separation of duties, exactly once under concurrency.

Each is load → decide (`bot.domain.approving`, pure) → apply (the kernel writes the change and its news). The
release row is locked for the whole decision (PostgreSQL `FOR UPDATE`, SQLite `BEGIN IMMEDIATE`), and a partial
unique index allows one active decision per person and environment, so double clicks, Slack retries and two
processes at once all end with the right count and one "approved" transition.
"""

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import approval_policy, approving, change_classes
from bot.domain.approval_policy import ApprovalState, Decision
from bot.domain.approving import Approving, Decided
from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.errors import NotAllowed
from bot.domain.lifecycle import Act, Event, Status, require
from bot.domain.message import Message
from bot.domain.permissions import Permission, Who
from bot.domain.policy import Environment, Members, Policy
from bot.domain.scope import LABELS
from bot.domain.validation import MAX_REASON, ReleaseRef, check_text
from bot.services.kernel import lookup, refusals, release_state, scope
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.kernel.hooks import Facts
from bot.services.kernel.outcome import Outcome
from storage.models import Release
from storage.repositories import approvals as approvals_repo
from storage.repositories import audit


def policy_for(ctx: ServiceContext, release: Release) -> Policy:
    """The policy as it applies to `release`: its class and risk set each environment's quorum."""
    return change_classes.view(ctx.policy, release)


def decided(release: Release, decisions: Sequence[Decision]) -> Decided:
    return Decided(release.ref, release.proposer_id, approval_policy.authors_of(release.scope_authors), decisions)


async def states(session: AsyncSession, ctx: ServiceContext, release: Release, members: Members) -> list[ApprovalState]:
    """Where the release stands with every environment that needs approvals, from its active decisions."""
    decisions = await approvals_repo.active(session=session, team_id=release.team_id, release_id=release.pk)
    return states_of(ctx, release, decisions, members)


def states_of(
    ctx: ServiceContext, release: Release, decisions: Sequence[Decision], members: Members
) -> list[ApprovalState]:
    return approving.approval_states(policy_for(ctx, release), decided(release, decisions), members)


def may_approve(
    ctx: ServiceContext, release: Release, env: Environment, user_id: str, members: Members, changed: Sequence[str] = ()
) -> None:
    """Refuse unless `user_id` may approve (or reject) `release` for `env` (see `approving.may_approve`)."""
    approving.may_approve(policy_for(ctx, release), decided(release, ()), env, user_id, members, changed)


# Audit actions that change a release's scope, and what each changed; a proposal starts a new scope history.
_SCOPE_CHANGES = {"edited": None, "scheduled": LABELS["window"], "commit_recorded": LABELS["commit_sha"]}
_PROPOSALS = ("proposed", "reproposed")
_LOOK_BACK = 1000  # events: what a scope author changed is looked for among the newest of the trail


async def changed_by(session: AsyncSession, release: Release, user_id: str) -> list[str]:
    """What `user_id` changed in the scope since the release was last proposed (e.g. ["summary"]), oldest first,
    for a refusal that names it; empty for anyone who is not a scope author."""
    if user_id not in approval_policy.authors_of(release.scope_authors):
        return []
    events = await audit.recent_of_release(
        session=session,
        team_id=release.team_id,
        release_id=release.pk,
        actions=[*_SCOPE_CHANGES, *_PROPOSALS],
        within=_LOOK_BACK,
    )
    changed: list[str] = []
    for event in events:
        if event.action in _PROPOSALS:
            break
        if event.actor_id == user_id:
            changed.append(_SCOPE_CHANGES[event.action] or str(event.details.get("field", "scope")))
    return list(dict.fromkeys(reversed(changed)))


def _decision(
    release: Release,
    actor: Actor,
    env: str,
    kind: str,
    comment: str,
    hashed: dict[str, str | int],
    group: str | None = None,
) -> approvals_repo.NewDecision:
    return approvals_repo.NewDecision(
        team_id=actor.team_id,
        release_id=release.pk,
        environment=env,
        user_id=actor.user_id,
        decision=kind,
        comment=comment,
        scope_hash=str(hashed["scope_hash"]),
        scope_version=int(hashed["scope_version"]),
        group_name=group,
    )


async def approve(ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int, comment: str = "") -> Outcome:
    comment = check_text(comment, label="comment", limit=MAX_REASON, required=False)
    members = await ctx.members(actor.team_id)
    async with refusals.audited(ctx, actor, "approve", release=ref):
        try:
            return await _approve(ctx, actor, ref, comment, members)
        except IntegrityError:  # the same person's concurrent click won; this one changes nothing
            async with ctx.db.read() as session:
                release = await lookup.release(session, team_id=actor.team_id, ref=ref)
            return Outcome(release, Message("You already decided on {ref}.", ref=release.ref), changed=False)


async def _approve(ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int, comment: str, members: Members) -> Outcome:
    async with ctx.db.transaction() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)
        if not change_classes.awaits_retro(release):  # an emergency change in production still takes approvals
            require(Act.APPROVE, release.status, ref=release.ref)
        decided_now = await approvals_repo.decisions_of(
            session=session, team_id=release.team_id, release_ids=[release.pk]
        )
        decisions = decided_now[release.pk]
        changed = await changed_by(session, release, actor.user_id)
        policy = policy_for(ctx, release)
        decision = approving.approve(policy, decided(release, decisions), actor.user_id, members, changed=changed)
        if not isinstance(decision, Approving):
            message = Message("You already approved {ref} for {env}.", ref=release.ref, env=decision.name)
            return Outcome(release, message, changed=False)
        hashed = scope.details(release)
        env, state = decision.environment, decision.state
        groups = approval_policy.groups_of(env, actor.user_id, members)
        group = groups[0] if groups else None
        await approvals_repo.add(session, _decision(release, actor, env.name, "approve", comment, hashed, group))
        retro = _retro_complete(ctx, release, decision)
        change = ReleaseChange(
            Audit.APPROVED,
            {"environment": env.name, "comment": comment, **hashed, **retro},
            events=decision.events,
            thread=post("thread_approved", actor=actor.user_id, state=state, comment=comment),
            stakeholders=post("stakeholders_approved", environment=env.name) if state.met else None,
        )
        facts = Facts(states=decision.after)
        await release_state.apply(
            session, ctx, release, change, actor_id=actor.user_id, members=members, facts=facts, decisions=decisions
        )
    done = " It now has every approval it needs." if state.met else ""
    return Outcome(
        release,
        Message(
            "You approved {ref} for {env} ({have}/{required}).{done}",
            ref=release.ref,
            env=env.name,
            have=state.counted,
            required=state.required,
            done=done,
        ),
    )


def _retro_complete(ctx: ServiceContext, release: Release, decision: Approving) -> dict[str, bool]:
    """An emergency change in production whose full approval this one completes: recorded, in time or late."""
    if not change_classes.awaits_retro(release) or not all(state.met for state in decision.after):
        return {}
    release.retro_approved_at = now = ctx.now()
    return {"retroactive": True, "in_time": release.retro_due_at is not None and now <= release.retro_due_at}


async def check_may_decide_by_id(ctx: ServiceContext, actor: Actor, release_id: int) -> Release:
    """Refuse early (before the reject modal opens) when this person may not decide on the release."""
    members = await ctx.members(actor.team_id)
    async with refusals.audited(ctx, actor, "reject", release=release_id):
        async with ctx.db.read() as session:
            release = await lookup.release(session, team_id=actor.team_id, ref=release_id)
            require(Act.REJECT, release.status, ref=release.ref)
            decisions = await approvals_repo.active(session=session, team_id=actor.team_id, release_id=release.pk)
        _reject_target(ctx, release, decisions, actor, members)
    return release


def _reject_target(
    ctx: ServiceContext, release: Release, decisions: Sequence[Decision], actor: Actor, members: Members
) -> str:
    """The environment a rejection is recorded for: the first this person may approve for, else (a release
    manager barred from approving, say as a scope author) the last one."""
    pending = states_of(ctx, release, decisions, members)
    gated = [env for state in pending if (env := policy_for(ctx, release).environment(state.environment))]
    lookup.check(ctx, actor, members, Permission.REJECT, release, environments=gated)
    for env in gated:
        try:
            may_approve(ctx, release, env, actor.user_id, members)
            return env.name
        except NotAllowed:
            continue
    return ctx.policy.environment_names[-1]


async def reject(ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int, reason: str) -> Outcome:
    reason = check_text(reason, label="reason", limit=MAX_REASON, field="reason")
    members = await ctx.members(actor.team_id)
    async with refusals.audited(ctx, actor, "reject", release=ref), ctx.db.transaction() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)
        require(Act.REJECT, release.status, ref=release.ref)
        decisions = await approvals_repo.active(session=session, team_id=actor.team_id, release_id=release.pk)
        env_name = _reject_target(ctx, release, decisions, actor, members)
        await approvals_repo.invalidate(
            session=session, team_id=actor.team_id, release_id=release.pk, user_id=actor.user_id
        )
        hashed = scope.details(release)
        await approvals_repo.add(session, _decision(release, actor, env_name, "reject", reason, hashed))
        change = ReleaseChange(
            Audit.REJECTED,
            {"environment": env_name, "reason": reason, **hashed},
            events=(Event.REJECTED,),
            thread=post("thread_rejected", actor=actor.user_id, reason=reason, environment=env_name),
        )
        await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
    return Outcome(
        release, Message("You rejected {ref}. The proposer sees your reason in the thread.", ref=release.ref)
    )


async def withdraw(ctx: ServiceContext, actor: Actor, ref: ReleaseRef) -> Outcome:
    members = await ctx.members(actor.team_id)
    async with ctx.db.transaction() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)
        withdrawn = await approvals_repo.invalidate(
            session=session, team_id=actor.team_id, release_id=release.pk, user_id=actor.user_id, decision="reject"
        )
        author = actor.user_id if withdrawn else None  # the rejection withdrawn, if this person gave one
        lookup.check(ctx, actor, members, Permission.WITHDRAW, release, parties={Who.REJECTION_AUTHOR: author})
        decisions = await approvals_repo.active(session=session, team_id=actor.team_id, release_id=release.pk)
        rejected = release.status == Status.REJECTED
        policy = policy_for(ctx, release)
        events = approving.after_withdrawal(policy, decided(release, decisions), members, rejected=rejected)
        change = ReleaseChange(
            Audit.REJECTION_WITHDRAWN, events=events, thread=post("thread_withdrawn", actor=actor.user_id)
        )
        await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
    return Outcome(release, Message("You withdrew your rejection of {ref}.", ref=release.ref))
