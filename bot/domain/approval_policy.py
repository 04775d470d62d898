"""Who may approve a release for an environment, and whether the approvals given reach the quorum.

Separation of duties: the proposer never counts. One person counts once: with approval groups, each
approver fills at most one group's slot, chosen so that as many group slots as possible are filled.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from bot.domain import policy
from bot.domain.errors import NotAllowed
from bot.domain.message import Message, mentions
from bot.domain.policy import Environment, Policy, includes

Members = policy.Members


@dataclass(frozen=True)
class GroupProgress:
    name: str
    required: int
    filled_by: tuple[str, ...]

    @property
    def met(self) -> bool:
        return len(self.filled_by) >= self.required


@dataclass(frozen=True)
class ApprovalState:
    environment: str
    required: int
    approved_by: tuple[str, ...]
    groups: tuple[GroupProgress, ...] = field(default=())
    rejected_by: tuple[str, ...] = field(default=())

    @property
    def met(self) -> bool:
        return (
            not self.rejected_by and len(self.approved_by) >= self.required and all(group.met for group in self.groups)
        )


def groups_of(env: Environment, user_id: str, members: Members) -> list[str]:
    return [group.name for group in env.approval_groups if includes(group.members, user_id, members)]


def check_may_approve(
    env: Environment,
    *,
    user_id: str,
    proposer_id: str,
    release_managers: Iterable[str],
    members: Members,
    ref: str,
) -> None:
    """Raise NotAllowed, saying why and who can, unless `user_id` may approve `ref` for `env`."""
    if user_id == proposer_id:
        raise NotAllowed(
            "You proposed {ref}, so you cannot approve or reject it yourself (separation of duties). {who}",
            ref=ref,
            who=who_can_approve(env, release_managers),
        )
    if is_approver(env, user_id=user_id, release_managers=release_managers, members=members):
        return
    raise NotAllowed(
        "You are not an approver for {env}. {who}", env=env.name, who=who_can_approve(env, release_managers)
    )


def is_approver(env: Environment, *, user_id: str, release_managers: Iterable[str], members: Members) -> bool:
    """Whether `user_id` approves for `env` at all (whoever proposed the release; see `check_may_approve`)."""
    if env.approval_groups:
        return bool(groups_of(env, user_id, members)) or includes(release_managers, user_id, members)
    return (
        not env.approvers or includes(env.approvers, user_id, members) or includes(release_managers, user_id, members)
    )


def who_can_approve(env: Environment, release_managers: Iterable[str]) -> Message:
    if env.approval_groups:
        parts = [
            Message("{required} from {members} ({name})", required=g.required, members=mentions(g.members), name=g.name)
            for g in env.approval_groups
        ]
        template = " and ".join(f"{{part{index}}}" for index in range(len(parts)))
        return Message("{env} needs " + template + ".", env=env.name, **{f"part{i}": p for i, p in enumerate(parts)})
    entities = list(dict.fromkeys([*env.approvers, *release_managers]))
    if not entities:
        return Message("Anyone but the proposer can approve for {env}.", env=env.name)
    return Message("Approvers for {env}: {who}.", env=env.name, who=mentions(entities))


def _assign(approvers: list[str], env: Environment, members: Members) -> dict[str, str]:
    """Maximum matching of approvers to group slots (Kuhn's algorithm); approver → group name."""
    slots = [group.name for group in env.approval_groups for _ in range(group.required)]
    slot_owner: dict[int, str] = {}

    def place(user: str, seen: set[int]) -> bool:
        eligible = set(groups_of(env, user, members))
        for index, name in enumerate(slots):
            if name in eligible and index not in seen:
                seen.add(index)
                if index not in slot_owner or place(slot_owner[index], seen):
                    slot_owner[index] = user
                    return True
        return False

    for user in approvers:
        place(user, set())
    return {user: slots[index] for index, user in slot_owner.items()}


def evaluate(
    env: Environment,
    *,
    approvals: Iterable[str],
    rejections: Iterable[str] = (),
    proposer_id: str,
    members: Members,
) -> ApprovalState:
    """The quorum state from the active decisions, in the order they were given."""
    approvers = [user for user in dict.fromkeys(approvals) if user != proposer_id]
    groups: tuple[GroupProgress, ...] = ()
    if env.approval_groups:
        assignment = _assign(approvers, env, members)
        groups = tuple(
            GroupProgress(
                name=group.name,
                required=group.required,
                filled_by=tuple(user for user in approvers if assignment.get(user) == group.name),
            )
            for group in env.approval_groups
        )
    return ApprovalState(
        environment=env.name,
        required=env.approvals,
        approved_by=tuple(approvers),
        groups=groups,
        rejected_by=tuple(dict.fromkeys(rejections)),
    )


class Decision(Protocol):
    """One person's active decision on a release for one environment (a stored approval row). Read-only, so a
    plain row fits as well as the table's model."""

    @property
    def environment(self) -> str: ...

    @property
    def user_id(self) -> str: ...

    @property
    def decision(self) -> str: ...  # approve | reject


def states(policy: Policy, *, proposer_id: str, decisions: Iterable[Decision], members: Members) -> list[ApprovalState]:
    """The quorum state of every environment that needs approvals, in pipeline order."""
    decided = list(decisions)
    return [
        evaluate(
            env,
            approvals=[d.user_id for d in decided if d.environment == env.name and d.decision == "approve"],
            rejections=[d.user_id for d in decided if d.environment == env.name and d.decision == "reject"],
            proposer_id=proposer_id,
            members=members,
        )
        for env in policy.environments
        if env.needs_approval
    ]
