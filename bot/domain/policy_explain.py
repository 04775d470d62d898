"""`shipmate policy explain`: every rule of `bot.domain.permissions` in words, per environment where the policy
names the people per environment, and once for the rules that are the same everywhere. User groups stay ids."""

from collections.abc import Iterable

from bot.domain import change_classes
from bot.domain.permissions import IN_WORDS, PER_ENVIRONMENT, Permission, Rule, Who, rule
from bot.domain.policy import Policy


def _listed(entities: Iterable[str]) -> str:
    return ", ".join(entities)


def _explained(given: Rule, policy: Policy, part: Who) -> str:
    if part is Who.LISTED:
        who = f"{given.role} {_listed(given.entities)}" if given.entities else ""
        if given.action in (Permission.DEPLOY, Permission.ROLL_BACK) and given.role == "approvers" and who:
            who += " (no deployers set)"
        return who
    if part is Who.RELEASE_MANAGERS and not policy.release_managers:
        return ""
    if part is Who.FACILITATOR:
        if policy.review.facilitator:
            return f"the review's facilitator ({policy.review.facilitator})"
        return "" if Who.PROPOSER in given.may else "the review's facilitator (the release's proposer)"
    return IN_WORDS[part]


def describe(given: Rule, policy: Policy) -> str:
    """One rule in words, user groups as ids: "deployers U0DAVE, S0ONCALL, or release managers; never …"."""
    if Who.LISTED in given.may and given.anyone:
        who = "anyone"
    else:
        parts = [text for part in given.may if (text := _explained(given, policy, part))]
        who = ", or ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts) or "nobody"
    if given.never:
        barred = " or ".join(IN_WORDS[part] for part in given.never)
        who += (", but never " if given.anyone else "; never ") + barred
    return who


def explain(policy: Policy) -> str:
    """Plain text: per environment, who may approve, deploy, roll back and sign off; then, once, who may do what
    is the same everywhere (group ids as ids)."""
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
        for action in PER_ENVIRONMENT:
            if action is Permission.APPROVE and not env.needs_approval:
                text = "no approvals needed"
            else:
                text = describe(rule(env, action), policy)
            lines.append(f"  {action.value + ':':<10} {text}")
    everywhere = [action for action in Permission if action not in PER_ENVIRONMENT]
    width = max(len(action.value) for action in everywhere) + 1
    lines += ["", "everywhere:"]
    lines += [f"  {action.value + ':':<{width}} {describe(rule(None, action), policy)}" for action in everywhere]
    lines += ["", *change_classes.explain(policy)]
    return "\n".join(lines) + "\n"
