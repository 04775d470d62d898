"""Who may act on a release, and who may approve, deploy, roll back and sign off in each environment, from the
policy. Pure: the services gather the people (and group members), these rules decide.

One `Rule` per environment and action, read by the services (to decide, and to refuse naming who may) and by
`shipmate policy explain` (to print), so what is enforced and what is explained cannot drift apart.
"""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import NotAllowed
from bot.domain.message import Mention, Message, Value, mentions
from bot.domain.policy import Environment, Members, Policy, includes


def check_owner(policy: Policy, *, user_id: str, proposer_id: str, members: Members, doing: Message) -> None:
    """A release belongs to its proposer and the release managers: only they edit, schedule, cancel or re-propose it.
    `doing` completes "can …", e.g. `Message("edit {ref}", ref=ref)`."""
    if user_id == proposer_id or policy.is_release_manager(user_id, members):
        return
    raise NotAllowed(
        "Only the proposer ({proposer}) or a release manager can {doing}.", proposer=Mention(proposer_id), doing=doing
    )


class Permission(StrEnum):
    """What a rule is about (not to be confused with `bot.domain.pipeline.Action`, what a deployer is asked)."""

    APPROVE = "approve"
    DEPLOY = "deploy"
    ROLL_BACK = "roll back"
    SIGN_OFF = "sign off"


# How each action reads after "may" in a sentence about one environment.
_DOING = {
    Permission.APPROVE: "approve releases for {env}",
    Permission.DEPLOY: "deploy to {env}",
    Permission.ROLL_BACK: "roll back {env}",
    Permission.SIGN_OFF: "sign off regression in {env}",
}


@dataclass(frozen=True)
class Rule:
    """Who may take `action` in `environment`. `role` names the policy list the people come from (when the
    environment leaves `deployers` empty, deploying falls back to its approvers)."""

    environment: str
    action: Permission
    role: str  # "approvers", "deployers" or "verifiers"
    entities: tuple[str, ...]  # people (U…/W…) and user groups (S…)
    anyone: bool  # nobody is listed: anyone in the workspace
    release_managers: bool  # release managers may as well
    proposer: bool  # the release's proposer may, on their own release
    scope_author: bool  # anyone who changed the release's scope since it was proposed may

    @property
    def doing(self) -> str:
        return _DOING[self.action].format(env=self.environment)

    def admits(self, user_id: str, members: Members, release_managers: Sequence[str]) -> bool:
        """By role alone (the proposer and scope-author rules are for `check`)."""
        if self.anyone or includes(self.entities, user_id, members):
            return True
        return self.release_managers and includes(release_managers, user_id, members)

    def who(self, release_managers: Sequence[str]) -> Message:
        """Like "deployers of prod (@U0DAVE, @S0ONCALL) or release managers (@U0RM)"; "anyone else" when nobody
        is listed (a refusal then only ever concerns the proposer or a scope author)."""
        if self.anyone:
            return Message("anyone else")
        parts: list[Value] = []
        if self.entities:
            parts.append(
                Message("{role} of {env} ({who})", role=self.role, env=self.environment, who=mentions(self.entities))
            )
        if self.release_managers and release_managers:
            parts.append(Message("release managers ({who})", who=mentions(release_managers)))
        if not parts:
            return Message("nobody (the policy names no one)")
        return Message(" or ".join(f"{{p{i}}}" for i in range(len(parts))), **{f"p{i}": p for i, p in enumerate(parts)})


def approver_entities(env: Environment) -> tuple[str, ...]:
    """Everyone the policy names as an approver of `env`: its approvers and the members of its approval groups."""
    return tuple(dict.fromkeys([*env.approvers, *(member for g in env.approval_groups for member in g.members)]))


def rule(env: Environment, action: Permission) -> Rule:
    approvers = approver_entities(env)
    if action is Permission.APPROVE:
        return Rule(
            env.name,
            action,
            "approvers",
            approvers,
            anyone=not approvers,
            release_managers=True,
            proposer=False,
            scope_author=False,
        )
    if action is Permission.SIGN_OFF:
        return Rule(
            env.name,
            action,
            "verifiers",
            tuple(env.verifiers),
            anyone=not env.verifiers,
            release_managers=False,
            proposer=False,
            scope_author=True,
        )
    own = action is Permission.ROLL_BACK or env.proposer_may_deploy or not env.needs_approval
    if env.deployers:
        role, entities, anyone = "deployers", tuple(env.deployers), False
    elif env.needs_approval:  # approvals guard the environment: so do its approvers
        role, entities, anyone = "approvers", approvers, not approvers
    else:
        role, entities, anyone = "deployers", (), True
    return Rule(env.name, action, role, entities, anyone=anyone, release_managers=True, proposer=own, scope_author=True)


def check(
    policy: Policy,
    env: Environment,
    action: Permission,
    *,
    user_id: str,
    members: Members,
    ref: str | None = None,
    proposer_id: str | None = None,
    scope_authors: Collection[str] = (),
    changed: Sequence[str] = (),
) -> None:
    """Raise `NotAllowed`, naming the rule and who may act, unless `user_id` may take `action` in `env`
    (on the release `ref`, proposed by `proposer_id`, whose scope `scope_authors` changed since it was proposed;
    `changed` names what `user_id` changed, for the refusal)."""
    given = rule(env, action)
    managers = policy.release_managers
    if user_id == proposer_id and not given.proposer:
        raise NotAllowed(_OWN[action], ref=ref or "", env=env.name, who=given.who(managers))
    if user_id in scope_authors and not given.scope_author:
        raise NotAllowed(_SCOPE_AUTHOR, ref=ref or "", what=_what(changed), who=given.who(managers))
    if not given.admits(user_id, members, managers):
        raise NotAllowed("Only {who} may {doing}.", who=given.who(managers), doing=given.doing)


# Refusals of separation of duties, for the actions whose rule bars the proposer or the scope's authors.
_OWN = {
    Permission.APPROVE: "You proposed {ref}, so you cannot approve or reject it yourself (separation of duties). "
    "Who may approve for {env}: {who}.",
    Permission.DEPLOY: "You proposed {ref}, so someone else must deploy it to {env}, which needs approvals "
    "(separation of duties): {who}.",
    Permission.SIGN_OFF: "You proposed {ref}, so someone else must sign off its regression in {env} "
    "(separation of duties): {who}.",
}
_SCOPE_AUTHOR = (
    "You changed the scope of {ref}{what} since it was proposed, so you may not approve it (separation of duties); "
    "ask another approver: {who}."
)


def _what(changed: Sequence[str]) -> str:
    """The refusal's ` (its summary and planned window)`; empty when what was changed is not known."""
    parts = list(dict.fromkeys(changed))
    if not parts:
        return ""
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f" (its {listed})"


# -- `shipmate policy explain` -------------------------------------------------------------------------------------


def _listed(entities: Iterable[str]) -> str:
    return ", ".join(entities)


def _describe(given: Rule, has_managers: bool) -> str:
    if given.anyone:
        who = "anyone"
    else:
        who = f"{given.role} {_listed(given.entities)}" if given.entities else ""
        if given.action in (Permission.DEPLOY, Permission.ROLL_BACK) and given.role == "approvers" and who:
            who += " (no deployers set)"
        if given.release_managers and has_managers:
            who = f"{who}, or release managers" if who else "release managers"
        who = who or "nobody"
    barred = []
    if not given.proposer:
        barred.append("the release's proposer")
    if not given.scope_author:
        barred.append("anyone who changed its scope since it was proposed")
    if barred:
        who += (", but never " if given.anyone else "; never ") + " or ".join(barred)
    return who


def explain(policy: Policy) -> str:
    """Plain text: per environment, who may approve, deploy, roll back and sign off (group ids as ids)."""
    managers = policy.release_managers
    lines = [f"release managers: {_listed(managers) if managers else 'none'}"]
    for env in policy.environments:
        facts = [
            f"{env.approvals} approval{'' if env.approvals == 1 else 's'}" if env.needs_approval else "no approvals"
        ]
        facts += [f"{g.required} from group {g.name} ({_listed(g.members)})" for g in env.approval_groups]
        if env.regression_required:
            facts.append("a passed regression sign-off before the next environment")
        lines += ["", f"{env.name}: {'; '.join(facts)}"]
        for action in Permission:
            if action is Permission.APPROVE and not env.needs_approval:
                text = "no approvals needed"
            else:
                text = _describe(rule(env, action), bool(managers))
            lines.append(f"  {action.value + ':':<10} {text}")
    return "\n".join(lines) + "\n"
