"""Deciding an approval or a withdrawal, pure: which environment a person's approval counts for, the
approval states it leaves (decided once, then shown on the card and given to the follow-ups), and what the
release's status does next. The services load the decisions and write the result (`ReleaseChange`)."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bot.domain import permissions
from bot.domain.approval_policy import ApprovalState, Decision, states
from bot.domain.errors import InvalidTransition, NotAllowed
from bot.domain.lifecycle import Event
from bot.domain.permissions import Permission
from bot.domain.policy import Environment, Members, Policy


@dataclass(frozen=True)
class Decided:
    """A release's facts an approval is decided on."""

    ref: str
    proposer_id: str
    scope_authors: tuple[str, ...]
    decisions: Sequence[Decision]


def approval_states(policy: Policy, release: Decided, members: Members) -> list[ApprovalState]:
    return states(
        policy,
        proposer_id=release.proposer_id,
        decisions=release.decisions,
        members=members,
        scope_authors=release.scope_authors,
    )


def may_approve(
    policy: Policy, release: Decided, env: Environment, user_id: str, members: Members, changed: Collection[str] = ()
) -> None:
    """Refuse unless `user_id` may approve (or reject) the release for `env`: an approver of it, neither its proposer
    nor anyone who changed its scope since it was proposed (`changed`: what they changed, if known)."""
    permissions.check(
        policy,
        env,
        Permission.APPROVE,
        user_id=user_id,
        members=members,
        ref=release.ref,
        proposer_id=release.proposer_id,
        scope_authors=release.scope_authors,
        changed=list(changed),
    )


def target(
    policy: Policy,
    release: Decided,
    pending: Sequence[ApprovalState],
    user_id: str,
    members: Members,
    changed: Collection[str],
) -> Environment:
    """The first environment still short of approvals that this person may approve for."""
    candidates = [env for state in pending if not state.met if (env := policy.environment(state.environment))]
    if not candidates:
        raise InvalidTransition("{ref} already has every approval the policy asks for.", ref=release.ref)
    refusal: NotAllowed | None = None
    for env in candidates:
        try:
            may_approve(policy, release, env, user_id, members, changed)
            return env
        except NotAllowed as error:
            refusal = refusal or error
    assert refusal is not None
    raise refusal


@dataclass(frozen=True)
class Approving:
    """An approval to record: for `environment`, leaving `after` (every environment's state with it)."""

    environment: Environment
    after: tuple[ApprovalState, ...]

    @property
    def state(self) -> ApprovalState:
        return next(s for s in self.after if s.environment == self.environment.name)

    @property
    def events(self) -> tuple[Event, ...]:
        return (Event.QUORUM_MET,) if all(s.met for s in self.after) else ()


def approve(
    policy: Policy, release: Decided, user_id: str, members: Members, *, changed: Collection[str] = ()
) -> Approving | Environment:
    """The approval to record, or the environment this person already approved (nothing to do). Refuses someone who
    rejected the release, or may not approve it."""
    pending = approval_states(policy, release, members)
    env = target(policy, release, pending, user_id, members, changed)
    before = next(s for s in pending if s.environment == env.name)
    if user_id in before.approved_by:
        return env
    if user_id in before.rejected_by:
        raise InvalidTransition(
            "You rejected {ref}; withdraw it first with `/release withdraw {ref}`.", ref=release.ref
        )
    decided = [*release.decisions, _Approval(env.name, user_id)]
    with_it = Decided(release.ref, release.proposer_id, release.scope_authors, decided)
    return Approving(env, tuple(approval_states(policy, with_it, members)))


@dataclass(frozen=True)
class _Approval:
    environment: str
    user_id: str
    decision: str = "approve"


def after_withdrawal(policy: Policy, release: Decided, members: Members, *, rejected: bool) -> tuple[Event, ...]:
    """What the status does once a rejection is withdrawn (`release.decisions` without it): back to proposed when
    no rejection is left, and on to approved when every approval is there."""
    now = approval_states(policy, release, members)
    if not rejected or any(s.rejected_by for s in now):
        return ()
    if now and all(s.met for s in now):
        return (Event.REJECTION_WITHDRAWN, Event.QUORUM_MET)
    return (Event.REJECTION_WITHDRAWN,)
