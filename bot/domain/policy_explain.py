"""`shipmate policy explain`: every rule of `bot.domain.permissions` in words, per environment where the policy
names the people per environment, and once for the rules that are the same everywhere. User groups stay ids."""

from collections.abc import Iterable

from bot.domain import change_classes
from bot.domain.permissions import IN_WORDS, PER_ENVIRONMENT, Permission, Rule, Who, rule
from bot.domain.policy import Environment, Policy
from bot.domain.policy_alerts import DEFAULT_WATCH, AlertsSettings


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


def health_lines(env: Environment) -> list[str]:
    """After a deployment: the soak this environment asks for, its watch and what an alert may do (the health keys;
    nothing when they are all at their defaults)."""
    if not env.min_soak and env.auto_rollback is False and env.watch == DEFAULT_WATCH:
        return []
    parts = [f"min soak {env.min_soak} in the previous environment" if env.min_soak else "no soak"]
    parts.append(f"alerts count for {env.watch} after a deployment")
    if env.auto_rollback == "dry-run":
        parts.append(f"auto rollback: dry run (says what it would do after {env.rollback_grace})")
    elif env.auto_rollback:
        parts.append(f"auto rollback after {env.rollback_grace} of firing")
    else:
        parts.append("no auto rollback")
    return [f"  {'health:':<10} {'; '.join(parts)}"]


def alerts_lines(policy: Policy) -> list[str]:
    alerts = policy.alerts
    if alerts == AlertsSettings():
        return []
    mapped = ", ".join(f"{label} = {env}" for label, env in alerts.environments.items())
    where = f" (mapped: {mapped})" if mapped else ""
    return [
        "",
        f"alerts: service label {alerts.service_label!r}, environment label {alerts.environment_label!r}{where}",
    ]


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
        if env.max_commits is not None:
            facts.append(f"release notes warn over {env.max_commits} commits")
        lines += ["", f"{env.name}: {'; '.join(facts)}"]
        lines += health_lines(env)
        for action in PER_ENVIRONMENT:
            if action is Permission.APPROVE and not env.needs_approval:
                text = "no approvals needed"
            else:
                text = describe(rule(env, action), policy)
            lines.append(f"  {action.value + ':':<10} {text}")
    lines += alerts_lines(policy)
    everywhere = [action for action in Permission if action not in PER_ENVIRONMENT]
    width = max(len(action.value) for action in everywhere) + 1
    lines += ["", "everywhere:"]
    lines += [f"  {action.value + ':':<{width}} {describe(rule(None, action), policy)}" for action in everywhere]
    lines += ["", *change_classes.explain(policy)]
    locks = policy.locks
    through = _listed(locks.bypass) if locks.bypass else "nobody but its holder"
    lines += ["", f"deploy locks: {locks.default} unless asked, at most {locks.max}; through a * lock: {through}"]
    trackers = policy.integrations
    if trackers.jira_url or trackers.linear_workspace:
        where = f"Jira {trackers.jira_url}" if trackers.jira_url else f"Linear workspace {trackers.linear_workspace}"
        lines += ["", f"tickets in release notes link to {where}"]
    return "\n".join(lines) + "\n"
