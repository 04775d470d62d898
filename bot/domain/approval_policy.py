"""Whether the approvals given for an environment reach its quorum (who may give one: `permissions`).

Separation of duties: neither the proposer nor anyone who changed the scope since it was proposed (its scope
authors) counts. One person counts once: with approval groups, each approver fills at most one group's slot, chosen
so that as many group slots as possible are filled.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from bot.domain import policy
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

    @property
    def counted(self) -> int:
        """The approvals that count towards the quorum, as "2/2" shows them (at most the quorum)."""
        return min(len(self.approved_by), self.required)


def authors_of(stored: str) -> tuple[str, ...]:
    """The scope authors as a release stores them (space-separated ids), each once, in the order they came."""
    return tuple(dict.fromkeys(stored.split()))


def add_author(stored: str, user_id: str) -> str:
    """`stored` with `user_id` added once (a second change by the same person adds nothing)."""
    return " ".join(dict.fromkeys([*stored.split(), user_id]))


def groups_of(env: Environment, user_id: str, members: Members) -> list[str]:
    return [group.name for group in env.approval_groups if includes(group.members, user_id, members)]


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
    scope_authors: Collection[str] = (),
) -> ApprovalState:
    """The quorum state from the active decisions, in the order they were given."""
    barred = {proposer_id, *scope_authors}
    approvers = [user for user in dict.fromkeys(approvals) if user not in barred]
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


def states(
    policy: Policy,
    *,
    proposer_id: str,
    decisions: Iterable[Decision],
    members: Members,
    scope_authors: Collection[str] = (),
) -> list[ApprovalState]:
    """The quorum state of every environment that needs approvals, in pipeline order."""
    decided = list(decisions)
    return [
        evaluate(
            env,
            approvals=[d.user_id for d in decided if d.environment == env.name and d.decision == "approve"],
            rejections=[d.user_id for d in decided if d.environment == env.name and d.decision == "reject"],
            proposer_id=proposer_id,
            members=members,
            scope_authors=scope_authors,
        )
        for env in policy.environments
        if env.needs_approval
    ]
