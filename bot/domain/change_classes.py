"""Change classes (ITIL): a *standard* change is pre-authorised and needs no approval; a *normal* change needs the
quorum its risk asks for (`[risk] approvals`, never less than the environment's own), and the CAB before the final
environment when its risk is in `[risk] cab`; an *emergency* change needs one approval from `[emergency] approvers`
before it is deployed anywhere, passes freezes with an automatic recorded override, and once in production owes the
full approval of a normal change within `[emergency] retro_within`.

The quorum a release needs is read from `view(policy, release)`: the policy with each environment's approvals as
the release's class and risk make them, so the card, the approve command, the gates, the reminders and App Home
all count alike."""

from dataclasses import replace
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from bot.domain.errors import InvalidInput
from bot.domain.message import Code, Mention, Message, Strong, When, mentions
from bot.domain.policy import Environment, Policy
from bot.domain.policy_changes import RISK_ORDER, StandardChange
from bot.domain.proposal import ProposeRequest
from bot.domain.validation import check_risk

EMERGENCY_OVERRIDE = "emergency change"


class ChangeClass(StrEnum):
    NORMAL = "normal"
    STANDARD = "standard"
    EMERGENCY = "emergency"


class Classified(Protocol):
    """A release, as far as its class goes."""

    @property
    def change_class(self) -> str: ...

    @property
    def risk(self) -> str: ...

    @property
    def standard_name(self) -> str | None: ...

    @property
    def retro_due_at(self) -> datetime | None: ...


def standard_template(policy: Policy, name: str, *, service: str, version: str, risk: str) -> StandardChange:
    """The template `name` names, when the release fits it; otherwise a refusal that says why and offers a normal
    change."""
    offer = Message(
        "Propose it as a normal change instead: `/release propose {service} {version} <summary>`.",
        service=service,
        version=version,
    )
    wanted = name.strip().lower()
    template = next((t for t in policy.standard_changes if t.name.lower() == wanted), None)
    if template is None:
        known = [t.name for t in policy.standard_changes] or ["none"]
        raise InvalidInput(
            "There is no standard change {name} (the policy's: {known}). {offer}",
            field="standard",
            name=Code(name, 60),
            known=known,
            offer=offer,
        )
    if not template.covers(service):
        raise InvalidInput(
            "{service} is not a service of the standard change {name} (it covers {services}). {offer}",
            field="standard",
            service=service,
            name=template.name,
            services=template.services,
            offer=offer,
        )
    if RISK_ORDER[risk] > RISK_ORDER[template.max_risk]:
        raise InvalidInput(
            "The standard change {name} is for risk {max} at most, and this release is {risk} risk. {offer}",
            field="standard",
            name=template.name,
            max=template.max_risk,
            risk=risk,
            offer=offer,
        )
    return template


def classify(policy: Policy, request: ProposeRequest) -> ProposeRequest:
    """A proposal with its class settled: a standard change's template checked (its risk, when not given, the
    template's `max_risk`), or refused with the reason."""
    if request.change_class == ChangeClass.EMERGENCY:
        return request
    if request.standard_name is None:
        return replace(request, change_class=ChangeClass.NORMAL)
    risk = check_risk(request.risk) if request.risk else None
    template = standard_template(
        policy,
        request.standard_name,
        service=request.service,
        version=request.version,
        risk=risk or "low",
    )
    return replace(
        request, change_class=ChangeClass.STANDARD, standard_name=template.name, risk=risk or template.max_risk
    )


def template_of(policy: Policy, release: Classified) -> StandardChange | None:
    """The standard change a release was proposed under (None when the policy no longer has it)."""
    if release.change_class != ChangeClass.STANDARD or not release.standard_name:
        return None
    wanted = release.standard_name.lower()
    return next((t for t in policy.standard_changes if t.name.lower() == wanted), None)


def in_retro(release: Classified) -> bool:
    """An emergency change that reached the final environment: it now owes the full approval of a normal change."""
    return release.change_class == ChangeClass.EMERGENCY and release.retro_due_at is not None


def in_emergency(release: Classified) -> bool:
    """An emergency change before the final environment: one emergency approval is all it needs."""
    return release.change_class == ChangeClass.EMERGENCY and release.retro_due_at is None


def awaits_retro(release: Classified) -> bool:
    """An emergency change in production still short of its full approval."""
    return in_retro(release) and getattr(release, "retro_approved_at", None) is None


def owes_retro(release: Classified) -> bool:
    """An emergency change reaching the final environment for the first time: its full approval becomes due."""
    return release.change_class == ChangeClass.EMERGENCY and release.retro_due_at is None


def emergency_approvers(policy: Policy) -> list[str]:
    return list(policy.emergency.approvers or policy.release_managers)


def normal_approvals(policy: Policy, env: Environment, risk: str) -> int:
    """What a normal change of `risk` needs in `env`: its risk's quorum where the environment needs any approval,
    never less than the environment's own."""
    if not env.needs_approval:
        return 0
    by_risk: dict[str, int] = {str(key): count for key, count in policy.risk.approvals.items()}
    return max(env.approvals, by_risk.get(risk, 0))


def _with_environments(policy: Policy, environments: list[Environment]) -> Policy:
    copied = policy.model_copy(update={"environments": environments})
    for cached in [key for key in copied.__dict__ if key not in Policy.model_fields]:
        del copied.__dict__[cached]  # computed from the old environments
    return copied


def view(policy: Policy, release: Classified) -> Policy:
    """The policy as it applies to `release`: each environment's approvals set by the release's class and risk."""
    klass = release.change_class
    if klass == ChangeClass.STANDARD and template_of(policy, release) is not None:
        return _with_environments(
            policy, [env.model_copy(update={"approvals": 0, "approval_groups": []}) for env in policy.environments]
        )
    if klass == ChangeClass.EMERGENCY and not in_retro(release):
        first, *rest = policy.environments
        approve_first = first.model_copy(
            update={"approvals": 1, "approval_groups": [], "approvers": emergency_approvers(policy)}
        )
        return _with_environments(
            policy, [approve_first, *(env.model_copy(update={"approvals": 0, "approval_groups": []}) for env in rest)]
        )
    if not policy.risk.approvals:
        return policy
    return _with_environments(
        policy,
        [
            env.model_copy(update={"approvals": normal_approvals(policy, env, release.risk)})
            for env in policy.environments
        ],
    )


def needs_cab(policy: Policy, release: Classified) -> bool:
    """A normal change whose risk the policy sends to the CAB before the final environment."""
    return release.change_class == ChangeClass.NORMAL and release.risk in policy.risk.cab


def describe(policy: Policy, release: Classified) -> Message:
    """The class in words, for the card, the history and the gate's answer."""
    if release.change_class == ChangeClass.STANDARD:
        template = template_of(policy, release)
        if template is None:
            return Message("Standard change: {name} (no longer in the policy)", name=release.standard_name or "")
        return pre_authorised(template)
    if release.change_class == ChangeClass.EMERGENCY:
        return Message("Emergency change")
    return Message("Normal change, {risk} risk", risk=release.risk)


def pre_authorised(template: StandardChange) -> Message:
    return Message(
        "Standard change: {name}, pre-authorised by {who} on {on}",
        name=template.name,
        who=Mention(template.authorised_by),
        on=_day(template.authorised_on),
    )


def _day(day: date) -> str:
    return day.isoformat()


def audit_details(policy: Policy, release: Classified) -> dict[str, str]:
    """What the history records of a release's class: the class, and the template (who pre-authorised it, when)
    or the incident."""
    details = {"change_class": release.change_class}
    template = template_of(policy, release)
    if template is not None:
        details |= {
            "standard": template.name,
            "authorised_by": template.authorised_by,
            "authorised_on": template.authorised_on.isoformat(),
        }
    incident = getattr(release, "incident_url", None)
    if incident:
        details["incident"] = incident
    return details


def retro_overdue(release: Classified, retro_approved_at: datetime | None, now: datetime) -> bool:
    """An emergency change in production whose full approval is past due."""
    due = release.retro_due_at
    return in_retro(release) and retro_approved_at is None and due is not None and now > due


def card_line(
    policy: Policy,
    release: Classified,
    *,
    incident_url: str | None,
    retro_approved_at: datetime | None,
    now: datetime,
) -> Message | None:
    """The card's line about the class (none for a normal change): the standard change and who pre-authorised it,
    or the emergency, its incident and where its retroactive approval stands."""
    if release.change_class == ChangeClass.STANDARD:
        return Message("📋 {what}", what=describe(policy, release))
    if release.change_class != ChangeClass.EMERGENCY:
        return None
    parts: list[Message] = [Message("🚨 Emergency change")]
    if incident_url:
        parts.append(Message("incident {url}", url=incident_url))
    due = release.retro_due_at
    if retro_approved_at is not None:
        parts.append(Message("retroactive approval given {at}", at=When(retro_approved_at)))
    elif due is not None and now > due:
        parts.append(Message("⚠️ {overdue} (due {due})", overdue=Strong("retroactive approval overdue"), due=When(due)))
    elif due is not None:
        parts.append(Message("full approval due by {due}", due=When(due)))
    else:
        parts.append(
            Message("one approval from {who} before any deployment", who=mentions(emergency_approvers(policy)))
        )
    return Message(" · ".join(f"{{p{i}}}" for i in range(len(parts))), **{f"p{i}": p for i, p in enumerate(parts)})


class _Sample:
    """A release of a class and risk, for explaining the policy."""

    def __init__(self, change_class: str, risk: str, standard_name: str | None = None) -> None:
        self.change_class, self.risk, self.standard_name = change_class, risk, standard_name
        self.retro_due_at: datetime | None = None


def _path(policy: Policy, sample: _Sample) -> str:
    seen = view(policy, sample)
    steps = []
    for env in seen.environments:
        count = f"{env.approvals} approval{'' if env.approvals == 1 else 's'}" if env.needs_approval else "no approvals"
        if sample.change_class == ChangeClass.EMERGENCY and env.needs_approval:
            count += f" from {', '.join(env.approvers) or 'anyone'}"
        if policy.is_final(env.name) and needs_cab(policy, sample):
            count += ", then the CAB"
        steps.append(f"{env.name}: {count}")
    return " → ".join(steps)


def explain(policy: Policy) -> list[str]:
    """Each class's path through the pipeline, for `shipmate policy explain`."""
    lines = ["change classes (approvals per environment; freezes, regression sign-off and deployers always apply):"]
    for risk in ("low", "medium", "high"):
        lines.append(f"  normal, {risk} risk: {_path(policy, _Sample(ChangeClass.NORMAL, risk))}")
    for template in policy.standard_changes:
        lines.append(
            f'  standard "{template.name}" ({", ".join(template.services)}; risk up to {template.max_risk}; '
            f"pre-authorised by {template.authorised_by} on {template.authorised_on.isoformat()}): "
            f"{_path(policy, _Sample(ChangeClass.STANDARD, template.max_risk, template.name))}"
        )
    emergency = _path(policy, _Sample(ChangeClass.EMERGENCY, "medium"))
    lines.append(
        f"  emergency: {emergency}; never its proposer; passes freezes (recorded as {EMERGENCY_OVERRIDE!r}); "
        f"the full approval of its risk is due {policy.emergency.retro_within} after it reaches "
        f"{policy.environment_names[-1]}"
    )
    if policy.cab.channel:
        lines.append(
            f"  CAB: {', '.join(policy.cab.members)}, meets {policy.cab.meets} ({policy.timezone}); agenda in "
            f"{policy.cab.channel} {policy.cab.agenda_before} before; risks {', '.join(policy.risk.cab) or 'none'}"
        )
    return lines
