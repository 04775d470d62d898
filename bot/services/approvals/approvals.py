"""Approve, reject, withdraw: quorum under the policy, separation of duties, exactly once under concurrency.

The release row is locked for the whole decision (PostgreSQL `FOR UPDATE`, SQLite `BEGIN IMMEDIATE`), and a
partial unique index allows one active decision per person and environment, so double clicks, Slack retries
and two processes at once all end with the right count and one "approved" transition.
"""

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import approval_policy, permissions, scope
from bot.domain.approval_policy import ApprovalState, Decision
from bot.domain.errors import InvalidTransition, NotAllowed
from bot.domain.lifecycle import OPEN, Event, can
from bot.domain.message import Message
from bot.domain.permissions import Permission, Who
from bot.domain.policy import Environment, Members
from bot.domain.scope import LABELS
from bot.domain.validation import MAX_REASON, ReleaseRef, check_text
from bot.services.kernel import lookup, refusals, release_card, release_state
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.kernel.outcome import Outcome
from storage.models import Approval, Release
from storage.repositories import approvals as approvals_repo
from storage.repositories import audit, subscriptions


async def states(session: AsyncSession, ctx: ServiceContext, release: Release, members: Members) -> list[ApprovalState]:
    """Where the release stands with every environment that needs approvals, from its active decisions."""
    decisions = await approvals_repo.active(session=session, team_id=release.team_id, release_id=release.pk)
    return states_of(ctx, release, decisions, members)


def states_of(
    ctx: ServiceContext, release: Release, decisions: Sequence[Decision], members: Members
) -> list[ApprovalState]:
    return approval_policy.states(
        ctx.policy,
        proposer_id=release.proposer_id,
        decisions=decisions,
        members=members,
        scope_authors=approval_policy.authors_of(release.scope_authors),
    )


def may_approve(
    ctx: ServiceContext,
    release: Release,
    env: Environment,
    user_id: str,
    members: Members,
    changed: Sequence[str] = (),
) -> None:
    """Refuse unless `user_id` may approve (or reject) `release` for `env`: an approver of it, neither its
    proposer nor anyone who changed its scope since it was proposed (`changed`: what they changed, if known)."""
    permissions.check(
        ctx.policy,
        env,
        Permission.APPROVE,
        user_id=user_id,
        members=members,
        ref=release.ref,
        proposer_id=release.proposer_id,
        scope_authors=approval_policy.authors_of(release.scope_authors),
        changed=changed,
    )


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


def _target(
    ctx: ServiceContext,
    release: Release,
    pending: list[ApprovalState],
    actor: Actor,
    members: Members,
    changed: Sequence[str],
) -> Environment:
    """The first environment still short of approvals that this person may approve for."""
    candidates = [env for state in pending if not state.met if (env := ctx.policy.environment(state.environment))]
    if not candidates:
        raise InvalidTransition("{ref} already has every approval the policy asks for.", ref=release.ref)
    refusal: NotAllowed | None = None
    for env in candidates:
        try:
            may_approve(ctx, release, env, actor.user_id, members, changed)
            return env
        except NotAllowed as error:
            refusal = refusal or error
    assert refusal is not None
    raise refusal


def _require_open(release: Release, verb: str) -> None:
    if release.status not in OPEN:
        raise InvalidTransition(
            "{ref} is {status}, so it cannot be {verb}.", ref=release.ref, status=release.status.label, verb=verb
        )


async def approve(ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int, comment: str = "") -> Outcome:
    comment = check_text(comment, label="comment", limit=MAX_REASON, required=False)
    members = await ctx.members(actor.team_id)
    async with refusals.audited(ctx, actor, "approve", release=ref):
        return await _approve(ctx, actor, ref, comment, members)


async def _approve(ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int, comment: str, members: Members) -> Outcome:
    try:
        async with ctx.db.transaction() as session:
            release = await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)
            _require_open(release, "approved")
            decisions: list[Decision] = list(
                await approvals_repo.active(session=session, team_id=release.team_id, release_id=release.pk)
            )
            pending = states_of(ctx, release, decisions, members)
            changed = await changed_by(session, release, actor.user_id)
            env = _target(ctx, release, pending, actor, members, changed)
            before = next(s for s in pending if s.environment == env.name)
            if actor.user_id in before.approved_by:
                message = Message("You already approved {ref} for {env}.", ref=release.ref, env=env.name)
                return Outcome(release, message, changed=False)
            if actor.user_id in before.rejected_by:
                raise InvalidTransition(
                    "You rejected {ref}; withdraw it first with `/release withdraw {ref}`.", ref=release.ref
                )
            groups = approval_policy.groups_of(env, actor.user_id, members)
            approval = approvals_repo.add(
                session,
                Approval(
                    team_id=actor.team_id,
                    release_id=release.pk,
                    environment=env.name,
                    user_id=actor.user_id,
                    decision="approve",
                    comment=comment,
                    group_name=groups[0] if groups else None,
                    scope_hash=scope.digest(release),
                    scope_version=release.scope_version,
                ),
            )
            await session.flush()
            decisions.append(approval)
            audit.record(
                session,
                release,
                actor.user_id,
                "approved",
                environment=env.name,
                comment=comment,
                **scope_details(release),
            )
            after = states_of(ctx, release, decisions, members)
            state = next(s for s in after if s.environment == env.name)
            release_card.thread(session, release, "thread_approved", actor=actor.user_id, state=state, comment=comment)
            if state.met:
                followers = await subscriptions.subscribers(
                    session=session, team_id=actor.team_id, service=release.service
                )
                release_card.stakeholders(
                    session, ctx.policy, release, "stakeholders_approved", subscribers=followers, environment=env.name
                )
            if all(s.met for s in after) and can(release.status, Event.QUORUM_MET):
                await release_state.transition(
                    session,
                    ctx,
                    release,
                    Event.QUORUM_MET,
                    actor_id=actor.user_id,
                    members=members,
                    decisions=decisions,
                )
            else:
                await release_state.touch(session, ctx, release, members, decisions=decisions)
    except IntegrityError:  # the same person's concurrent click won; this one changes nothing
        async with ctx.db.read() as session:
            release = await lookup.release(session, team_id=actor.team_id, ref=ref)
        return Outcome(release, Message("You already decided on {ref}.", ref=release.ref), changed=False)
    ctx.kick()
    done = " It now has every approval it needs." if state.met else ""
    return Outcome(
        release,
        Message(
            "You approved {ref} for {env} ({have}/{required}).{done}",
            ref=release.ref,
            env=env.name,
            have=min(len(state.approved_by), state.required),
            required=state.required,
            done=done,
        ),
    )


def scope_details(release: Release) -> dict[str, str | int]:
    """The release's scope now, as its hash and version: what a decision is given on, or a change makes."""
    return {"scope_hash": scope.digest(release), "scope_version": release.scope_version}


def mark_scope_changed(release: Release, user_id: str, *, new_proposal: bool = False) -> dict[str, str | int]:
    """`user_id` just changed the release's scope: a new scope version, which they may not approve, nor may anyone
    who changed it since it was proposed (a `new_proposal` starts that list over). Returns the new version and its
    hash, for the audit row of the change."""
    release.scope_changed_by = user_id
    release.scope_authors = approval_policy.add_author("" if new_proposal else release.scope_authors, user_id)
    release.scope_version += 1
    return scope_details(release)


async def check_may_decide_by_id(ctx: ServiceContext, actor: Actor, release_id: int) -> Release:
    """Refuse early (before the reject modal opens) when this person may not decide on the release."""
    members = await ctx.members(actor.team_id)
    async with refusals.audited(ctx, actor, "reject", release=release_id):
        async with ctx.db.read() as session:
            release = await lookup.release(session, team_id=actor.team_id, ref=release_id)
            _require_open(release, "rejected")
            pending = await states(session, ctx, release, members)
        _reject_target(ctx, release, pending, actor, members)
    return release


def _reject_target(
    ctx: ServiceContext, release: Release, pending: list[ApprovalState], actor: Actor, members: Members
) -> str:
    """The environment a rejection is recorded for: the first this person may approve for, else (a release
    manager barred from approving, say as a scope author) the last one."""
    gated = [env for state in pending if (env := ctx.policy.environment(state.environment))]
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
    async with refusals.audited(ctx, actor, "reject", release=ref):
        return await _reject(ctx, actor, ref, reason, members)


async def _reject(ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int, reason: str, members: Members) -> Outcome:
    async with ctx.db.transaction() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)
        _require_open(release, "rejected")
        env_name = _reject_target(ctx, release, await states(session, ctx, release, members), actor, members)
        await approvals_repo.invalidate(
            session=session, team_id=actor.team_id, release_id=release.pk, user_id=actor.user_id
        )
        approvals_repo.add(
            session,
            Approval(
                team_id=actor.team_id,
                release_id=release.pk,
                environment=env_name,
                user_id=actor.user_id,
                decision="reject",
                comment=reason,
                scope_hash=scope.digest(release),
                scope_version=release.scope_version,
            ),
        )
        audit.record(
            session, release, actor.user_id, "rejected", environment=env_name, reason=reason, **scope_details(release)
        )
        release_card.thread(
            session, release, "thread_rejected", actor=actor.user_id, reason=reason, environment=env_name
        )
        await release_state.transition(session, ctx, release, Event.REJECTED, actor_id=actor.user_id, members=members)
    ctx.kick()
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
        audit.record(session, release, actor.user_id, "rejection_withdrawn")
        release_card.thread(session, release, "thread_withdrawn", actor=actor.user_id)
        now = await states(session, ctx, release, members)
        reopens = not any(s.rejected_by for s in now) and can(release.status, Event.REJECTION_WITHDRAWN)
        if reopens and now and all(s.met for s in now):
            await release_state.transition(
                session, ctx, release, Event.REJECTION_WITHDRAWN, actor_id=actor.user_id, members=members
            )
            await release_state.transition(
                session, ctx, release, Event.QUORUM_MET, actor_id=actor.user_id, members=members
            )
        elif reopens:
            await release_state.transition(
                session, ctx, release, Event.REJECTION_WITHDRAWN, actor_id=actor.user_id, members=members
            )
        else:
            await release_state.touch(session, ctx, release, members)
    ctx.kick()
    return Outcome(release, Message("You withdrew your rejection of {ref}.", ref=release.ref))


async def restart(
    session: AsyncSession, ctx: ServiceContext, release: Release, actor: Actor, what: str, members: Members
) -> list[str]:
    """The scope changed (`what`): every approval starts over, the approvers who gave one are told, and the
    release (and its card) shows it. Ends the caller's change to the release; returns those approvers."""
    decisions = await approvals_repo.active(session=session, team_id=release.team_id, release_id=release.pk)
    approvers = [d.user_id for d in decisions if d.decision == "approve"]
    if not approvers:
        await release_state.touch(session, ctx, release, members)
        return []
    await approvals_repo.invalidate(session=session, team_id=release.team_id, release_id=release.pk, decision="approve")
    audit.record(session, release, actor.user_id, "approvals_invalidated", because=what, approvers=approvers)
    release_card.thread(session, release, "thread_scope_changed", actor=actor.user_id, what=what, approvers=approvers)
    if can(release.status, Event.SCOPE_CHANGED):
        await release_state.transition(
            session, ctx, release, Event.SCOPE_CHANGED, actor_id=actor.user_id, members=members
        )
    else:
        await release_state.touch(session, ctx, release, members)
    return approvers
