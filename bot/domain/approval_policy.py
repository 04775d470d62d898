"""Who may approve a release for an environment, and whether the approvals given reach the quorum.

Separation of duties: the proposer never counts. One person counts once: with approval groups, each
approver fills at most one group's slot, chosen so that as many group slots as possible are filled.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.domain.errors import NotAllowed
from bot.domain.mrkdwn import mention
from bot.domain.policy import Environment

Members = Mapping[str, frozenset[str]]  # user group id (S…) → its user ids


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


def _in(user_id: str, entities: Iterable[str], members: Members) -> bool:
    return any(user_id == entity or user_id in members.get(entity, frozenset()) for entity in entities)


def groups_of(env: Environment, user_id: str, members: Members) -> list[str]:
    return [group.name for group in env.approval_groups if _in(user_id, group.members, members)]


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
            f"You proposed {ref}, so you cannot approve or reject it yourself (separation of duties). "
            f"{who_can_approve(env, release_managers)}"
        )
    if env.approval_groups:
        if groups_of(env, user_id, members) or _in(user_id, release_managers, members):
            return
    elif not env.approvers or _in(user_id, env.approvers, members) or _in(user_id, release_managers, members):
        return
    raise NotAllowed(f"You are not an approver for {env.name}. {who_can_approve(env, release_managers)}")


def who_can_approve(env: Environment, release_managers: Iterable[str]) -> str:
    if env.approval_groups:
        parts = [
            f"{group.required} from {', '.join(mention(m) for m in group.members)} ({group.name})"
            for group in env.approval_groups
        ]
        return f"{env.name} needs " + " and ".join(parts) + "."
    entities = list(dict.fromkeys([*env.approvers, *release_managers]))
    if not entities:
        return f"Anyone but the proposer can approve for {env.name}."
    return f"Approvers for {env.name}: {', '.join(mention(entity) for entity in entities)}."


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
