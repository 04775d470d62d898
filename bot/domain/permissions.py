"""Who may do what, from the policy: every rule a person can be refused by, declared once as data. Pure: the
services gather the people (and group members) and who stands where to the thing acted on; these rules decide.

`RULES` says, for each action, who may (the people the policy lists for an environment, release managers, the
release's proposer, the review's facilitator, …), who never may (separation of duties) and the words of a refusal.
`check` enforces them for every surface and `bot.domain.policy_explain` prints them (`shipmate policy explain`),
so what is enforced and what is explained cannot drift apart.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum, auto

from bot.domain.errors import NotAllowed
from bot.domain.message import Mention, Message, Value, mentions
from bot.domain.policy import Environment, Members, Policy, includes


class Permission(StrEnum):
    """A rule, by the name `policy explain` and README give it (not `bot.domain.pipeline.Action`, what a deployer
    is asked)."""

    APPROVE = "approve"
    DEPLOY = "deploy"
    ROLL_BACK = "roll back"
    SIGN_OFF = "sign off"
    REJECT = "reject"
    WITHDRAW = "withdraw a rejection"
    EDIT = "edit"
    SCHEDULE = "schedule"
    CANCEL = "cancel"
    PROPOSE_AGAIN = "propose again"
    OVERRIDE_FREEZE = "override a freeze"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    CALENDAR_LINK = "calendar link"
    START_REVIEW = "start a review"
    CLOSE_REVIEW = "close a review"
    ADD_ACTION_ITEM = "add an action item"
    CLOSE_ACTION_ITEM = "mark an action item done"
    LOCK = "lock"
    LIFT_LOCK = "lift a lock"
    POST_NOTES = "post release notes"
    EXPORT = "export changes"


# The rules whose people the policy names per environment; every other rule is the same in every environment.
PER_ENVIRONMENT = (
    Permission.APPROVE,
    Permission.DEPLOY,
    Permission.ROLL_BACK,
    Permission.SIGN_OFF,
    Permission.LOCK,
    Permission.LIFT_LOCK,
)


class Who(Enum):
    """Someone a rule admits or bars."""

    LISTED = auto()  # the people and user groups the policy lists for the environment (approvers, deployers, …)
    RELEASE_MANAGERS = auto()
    APPROVER = auto()  # whoever may approve the release for an environment that needs approvals
    PROPOSER = auto()  # the release's proposer
    SCOPE_AUTHOR = auto()  # whoever changed the release's scope since it was proposed
    FACILITATOR = auto()  # the review's facilitator
    REPLIER = auto()  # someone who replied in the review thread
    ITEM_OWNER = auto()  # the action item's owner
    ITEM_AUTHOR = auto()  # whoever added the action item
    REJECTION_AUTHOR = auto()  # whoever gave the rejection
    LOCK_HOLDER = auto()  # the deploy lock's holder


@dataclass(frozen=True)
class Declaration:
    """One rule as the policy's reader sees it: who may, who never may, and how a refusal reads. `refusal` may
    name {who} (worked out from `may`), {doing}, {ref}, {env} and {ask} (the release managers to ask)."""

    may: tuple[Who, ...]  # in the order a refusal names them
    doing: str  # completes "may …", with {ref} and {env}
    refusal: str
    never: tuple[Who, ...] = ()  # even when `may` admits them (separation of duties)
    own: str = ""  # the refusal of the proposer, where `never` bars them


_ONLY_MAY = "Only {who} may {doing}."
_ONLY_CAN = "Only {who} can {doing}."
_MANAGERS_ONLY = "Only release managers can {doing}. {ask}"
_LISTED_OR_MANAGERS = (Who.LISTED, Who.RELEASE_MANAGERS)
_OWNER = (Who.PROPOSER, Who.RELEASE_MANAGERS)

RULES: dict[Permission, Declaration] = {
    Permission.APPROVE: Declaration(
        _LISTED_OR_MANAGERS,
        "approve releases for {env}",
        _ONLY_MAY,
        never=(Who.PROPOSER, Who.SCOPE_AUTHOR),
        own="You proposed {ref}, so you cannot approve or reject it yourself (separation of duties). "
        "Who may approve for {env}: {who}.",
    ),
    # `rule` lifts the proposer's bar where the environment needs no approvals or sets `proposer_may_deploy`.
    Permission.DEPLOY: Declaration(
        _LISTED_OR_MANAGERS,
        "deploy to {env}",
        _ONLY_MAY,
        never=(Who.PROPOSER,),
        own="You proposed {ref}, so someone else must deploy it to {env}, which needs approvals "
        "(separation of duties): {who}.",
    ),
    Permission.ROLL_BACK: Declaration(_LISTED_OR_MANAGERS, "roll back {env}", _ONLY_MAY),
    Permission.SIGN_OFF: Declaration(
        (Who.LISTED,),
        "sign off regression in {env}",
        _ONLY_MAY,
        never=(Who.PROPOSER,),
        own="You proposed {ref}, so someone else must sign off its regression in {env} (separation of duties): {who}.",
    ),
    Permission.REJECT: Declaration(
        (Who.APPROVER, Who.RELEASE_MANAGERS),
        "reject {ref}",
        "You may not reject {ref}; only {who} may.",
        never=(Who.PROPOSER,),
        own="You proposed {ref}; cancel it with `/release cancel {ref}` instead of rejecting it.",
    ),
    Permission.WITHDRAW: Declaration(
        (Who.REJECTION_AUTHOR,),
        "withdraw a rejection of {ref}",
        "You have no rejection of {ref} to withdraw; only its author can withdraw one.",
    ),
    Permission.EDIT: Declaration(_OWNER, "edit {ref}", _ONLY_CAN),
    Permission.SCHEDULE: Declaration(_OWNER, "schedule {ref}", _ONLY_CAN),
    Permission.CANCEL: Declaration(_OWNER, "cancel {ref}", _ONLY_CAN),
    Permission.PROPOSE_AGAIN: Declaration(_OWNER, "propose {ref} again", _ONLY_CAN),
    Permission.OVERRIDE_FREEZE: Declaration((Who.RELEASE_MANAGERS,), "override a freeze", _ONLY_MAY),
    Permission.FREEZE: Declaration((Who.RELEASE_MANAGERS,), "freeze an environment", _MANAGERS_ONLY),
    Permission.UNFREEZE: Declaration((Who.RELEASE_MANAGERS,), "lift a freeze", _MANAGERS_ONLY),
    Permission.CALENDAR_LINK: Declaration(
        (Who.RELEASE_MANAGERS,), "create the calendar link (a new one revokes the old)", _MANAGERS_ONLY
    ),
    Permission.EXPORT: Declaration((Who.RELEASE_MANAGERS,), "export production changes", _MANAGERS_ONLY),
    Permission.START_REVIEW: Declaration(
        (Who.PROPOSER, Who.FACILITATOR, Who.RELEASE_MANAGERS),
        "start the review of {ref} early",
        "Only {who} can {doing}; it starts by itself after the production deployment.",
    ),
    Permission.CLOSE_REVIEW: Declaration(
        (Who.FACILITATOR, Who.RELEASE_MANAGERS), "close the review of {ref}", _ONLY_CAN
    ),
    Permission.ADD_ACTION_ITEM: Declaration(
        (Who.FACILITATOR, Who.RELEASE_MANAGERS, Who.REPLIER),
        "add action items to {ref}",
        "Only {who} may {doing}. Reply in the thread first, or ask the facilitator.",
    ),
    Permission.CLOSE_ACTION_ITEM: Declaration(
        (Who.ITEM_OWNER, Who.ITEM_AUTHOR, Who.RELEASE_MANAGERS), "mark action item #{ref} done", _ONLY_CAN
    ),
    # Who may deploy to an environment may lock it (the deploy rule's people, without separation of duties).
    Permission.LOCK: Declaration(_LISTED_OR_MANAGERS, "lock {env}", _ONLY_MAY),
    Permission.LIFT_LOCK: Declaration(
        (Who.LOCK_HOLDER, Who.LISTED, Who.RELEASE_MANAGERS), "lift the lock of {ref}", _ONLY_MAY
    ),
    Permission.POST_NOTES: Declaration(_OWNER, "post the notes of {ref} to a channel", _ONLY_CAN),
}

# How each party reads about any release: in `policy explain`, and in a refusal where nobody holds the part.
IN_WORDS = {
    Who.RELEASE_MANAGERS: "release managers",
    Who.APPROVER: "whoever may approve it for an environment that needs approvals",
    Who.PROPOSER: "the release's proposer",
    Who.SCOPE_AUTHOR: "anyone who changed its scope since it was proposed",
    Who.FACILITATOR: "the review's facilitator",
    Who.REPLIER: "anyone who replied in the review thread",
    Who.ITEM_OWNER: "the item's owner",
    Who.ITEM_AUTHOR: "whoever added it",
    Who.REJECTION_AUTHOR: "whoever gave it",
    Who.LOCK_HOLDER: "the lock's holder",
}
# How each party reads in a refusal about one release ({id}: who holds that part), where the rule names no list.
_NAMED = {
    Who.RELEASE_MANAGERS: "a release manager",
    Who.PROPOSER: "the proposer ({id})",
    Who.FACILITATOR: "the facilitator ({id})",
    Who.REPLIER: "someone who replied in the review thread",
    Who.ITEM_OWNER: "{id} (the owner)",
    Who.ITEM_AUTHOR: "whoever added it",
    Who.REJECTION_AUTHOR: "whoever gave it",
    Who.LOCK_HOLDER: "its holder ({id})",
}
_SCOPE_AUTHOR = (
    "You changed the scope of {ref}{what} since it was proposed, so you may not approve it (separation of duties); "
    "ask another approver: {who}."
)


@dataclass(frozen=True)
class Rule:
    """Who may take `action` (in `environment`, for the rules that depend on it). `role` names the policy list
    `Who.LISTED` reads (when an environment leaves `deployers` empty, deploying falls back to its approvers)."""

    action: Permission
    environment: str | None  # None: the same in every environment
    may: tuple[Who, ...]
    never: tuple[Who, ...] = ()
    role: str = ""  # "approvers", "deployers" or "verifiers"
    entities: tuple[str, ...] = ()  # people (U…/W…) and user groups (S…)
    anyone: bool = False  # the list names nobody: anyone in the workspace

    def doing(self, ref: str = "") -> Message:
        return Message(RULES[self.action].doing, env=self.environment or "", ref=ref)

    def admits(self, user_id: str, members: Members, release_managers: Sequence[str]) -> bool:
        """By the policy's lists alone (the people a release or review names are for `check`)."""
        if Who.LISTED in self.may and (self.anyone or includes(self.entities, user_id, members)):
            return True
        return Who.RELEASE_MANAGERS in self.may and includes(release_managers, user_id, members)

    def who(self, release_managers: Sequence[str]) -> Message:
        """Like "deployers of prod (@U0DAVE, @S0ONCALL) or release managers (@U0RM)"; "anyone else" when nobody
        is listed (a refusal then only ever concerns the proposer or a scope author)."""
        return _who(self, release_managers, {})


def approver_entities(env: Environment) -> tuple[str, ...]:
    """Everyone the policy names as an approver of `env`: its approvers and the members of its approval groups."""
    return tuple(dict.fromkeys([*env.approvers, *(member for g in env.approval_groups for member in g.members)]))


def rule(env: Environment | None, action: Permission) -> Rule:
    """The rule for `action`; the per-environment ones (`PER_ENVIRONMENT`) need `env`."""
    declared = RULES[action]
    if action not in PER_ENVIRONMENT:
        return Rule(action, None, declared.may, declared.never)
    if env is None:
        raise ValueError(f"who may {action} depends on the environment")
    approvers = approver_entities(env)
    if action is Permission.APPROVE:
        return Rule(action, env.name, declared.may, declared.never, "approvers", approvers, anyone=not approvers)
    if action is Permission.SIGN_OFF:
        verifiers = tuple(env.verifiers)
        return Rule(action, env.name, declared.may, declared.never, "verifiers", verifiers, anyone=not verifiers)
    never = declared.never if env.needs_approval and not env.proposer_may_deploy else ()
    if action in (Permission.LOCK, Permission.LIFT_LOCK):
        never = ()
    if env.deployers:
        role, entities, anyone = "deployers", tuple(env.deployers), False
    elif env.needs_approval:  # approvals guard the environment: so do its approvers
        role, entities, anyone = "approvers", approvers, not approvers
    else:
        role, entities, anyone = "deployers", (), True
    return Rule(action, env.name, declared.may, never, role, entities, anyone)


class Refused(NotAllowed):
    """A rule refused the person: `action` names the rule; the words say why and who may act instead."""

    def __init__(self, action: Permission, template: str, **values: Value) -> None:
        super().__init__(Message(template, **values))
        self.action = action


@dataclass(frozen=True)
class _Facts:
    """Who acts, and who stands where to what they act on."""

    user_id: str
    members: Members
    ref: str
    proposer_id: str | None
    scope_authors: Collection[str]
    changed: Sequence[str]
    holders: Mapping[Who, str | None] = field(default_factory=dict)
    environments: Sequence[Environment] = ()


def check(
    policy: Policy,
    env: Environment | None,
    action: Permission,
    *,
    user_id: str,
    members: Members,
    ref: str | None = None,
    proposer_id: str | None = None,
    scope_authors: Collection[str] = (),
    changed: Sequence[str] = (),
    parties: Mapping[Who, str | None] | None = None,
    environments: Sequence[Environment] = (),
) -> None:
    """Raise `Refused`, naming the rule and who may act, unless `user_id` may take `action` (in `env`, for the
    per-environment rules) on `ref` (a release, or an action item's number), proposed by `proposer_id`, whose scope
    `scope_authors` changed since it was proposed (`changed`: what `user_id` changed, for the refusal). `parties`
    says who holds the other parts the rule names (the review's facilitator, the item's owner, …; None: nobody);
    `environments` are those a rejection may count for (`Who.APPROVER`)."""
    holders = {Who.PROPOSER: proposer_id, **(parties or {})}
    facts = _Facts(user_id, members, ref or "", proposer_id, scope_authors, changed, holders, environments)
    refusal = _refusal(policy, rule(env, action), facts)
    if refusal is not None:
        raise refusal


def _refusal(policy: Policy, given: Rule, facts: _Facts) -> Refused | None:
    declared = RULES[given.action]
    if Who.PROPOSER in given.never and facts.user_id == facts.proposer_id:
        template = declared.own
    elif Who.SCOPE_AUTHOR in given.never and facts.user_id in facts.scope_authors:
        template = _SCOPE_AUTHOR
    elif given.admits(facts.user_id, facts.members, policy.release_managers) or any(
        _holds(policy, part, facts) for part in given.may
    ):
        return None
    else:
        template = declared.refusal
    managers = policy.release_managers
    return Refused(
        given.action,
        template,
        who=_who(given, managers, facts.holders, facts.environments),
        doing=given.doing(facts.ref),
        ref=facts.ref,
        env=given.environment or "",
        what=_what(facts.changed),
        ask=Message("Ask a release manager: {managers}.", managers=mentions(managers))
        if managers
        else Message("No release managers are set in the policy."),
    )


def _holds(policy: Policy, part: Who, facts: _Facts) -> bool:
    """Whether the person is `part` of what they act on (the policy's lists are `Rule.admits`')."""
    if part is Who.APPROVER:
        return any(_refusal(policy, rule(env, Permission.APPROVE), facts) is None for env in facts.environments)
    holder = facts.holders.get(part)
    return holder is not None and holder == facts.user_id


def _who(
    given: Rule,
    release_managers: Sequence[str],
    holders: Mapping[Who, str | None],
    approving: Sequence[Environment] = (),
) -> Message:
    """Who may act instead, for a refusal: the policy's lists with their people, then the parts of the release or
    review the rule names, each person once. `approving`: the environments a rejection may count for."""
    if Who.APPROVER in given.may and approving:
        return rule(approving[0], Permission.APPROVE).who(release_managers)  # whoever may approve it
    if Who.LISTED in given.may and given.anyone:
        return Message("anyone else")
    parts: list[Value] = []
    named: set[str] = set()
    for part in given.may:
        holder = holders.get(part)
        if holder and holder in named:
            continue  # the facilitator is the proposer, the owner added it: one person, named once
        named.update([holder] if holder else [])
        if (said := _part(given, part, holder, release_managers)) is not None:
            parts.append(said)
    if not parts:
        return Message("nobody (the policy names no one)")
    return _either(parts)


def _part(given: Rule, part: Who, holder: str | None, release_managers: Sequence[str]) -> Message | None:
    """One of those who may, in a refusal; None when the policy names nobody for it."""
    if part is Who.LISTED:
        return _list_of(given.role, given.environment or "", given.entities) if given.entities else None
    if part is Who.RELEASE_MANAGERS and Who.LISTED in given.may:  # beside a list of people, name them too
        return Message("release managers ({who})", who=mentions(release_managers)) if release_managers else None
    if part not in _NAMED:
        return None
    if "{id}" in _NAMED[part] and not holder:  # nobody holds that part: say who it would be
        return Message(IN_WORDS[part])
    return Message(_NAMED[part], id=Mention(holder or ""))


def _list_of(role: str, env: str, entities: Sequence[str]) -> Message:
    return Message("{role} of {env} ({who})", role=role, env=env, who=mentions(entities))


def _either(parts: Sequence[Value]) -> Message:
    """ "a or b", "a, b or c"."""
    names = [f"{{p{i}}}" for i in range(len(parts))]
    template = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return Message(template, **{f"p{i}": p for i, p in enumerate(parts)})


def _what(changed: Sequence[str]) -> str:
    """The refusal's ` (its summary and planned window)`; empty when what was changed is not known."""
    parts = list(dict.fromkeys(changed))
    if not parts:
        return ""
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f" (its {listed})"
