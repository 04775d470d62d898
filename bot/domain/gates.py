"""Deployment gates: small, composable checks. Each looks at the facts and either passes or says exactly
why not and which command would unblock it. Adding a gate means adding a function to GATES."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.approval_policy import ApprovalState
from bot.domain.change_classes import EMERGENCY_OVERRIDE
from bot.domain.errors import Refusal
from bot.domain.health import Soak, countdown
from bot.domain.lifecycle import UNDEPLOYABLE, Status
from bot.domain.locks import ActiveLock, blocking, label, refusal_text
from bot.domain.message import Message, When
from bot.domain.policy import Environment


@dataclass(frozen=True)
class ActiveFreeze:
    """A freeze covering the deployment moment (one-off or a recurring occurrence)."""

    label: str  # "#12 \"quarter close\"" or "weekend (recurring)"
    reason: str
    ends_at: datetime
    freeze_id: int | None = None


@dataclass(frozen=True)
class GateFacts:
    """Everything a gate may look at, gathered by the service before deciding."""

    ref: str
    status: Status
    environment: Environment
    previous_environment: str | None
    deployed_to_previous: bool
    approvals: ApprovalState | None  # None when the environment needs no approvals
    regression_passed_in_previous: bool | None  # None when the previous env does not require it
    regression_failed_note: str | None = None  # the newest sign-off failed: its note (may be "")
    freezes: Sequence[ActiveFreeze] = field(default=())
    override_reason: str | None = None
    actor_is_release_manager: bool = False
    service: str = ""  # the release's service (what a lock covers)
    locks: Sequence[ActiveLock] = field(default=())  # deploy locks covering the service in this environment
    lock_acting_for: frozenset[str] = frozenset()  # whoever the deployment is done for: a lock's holder passes
    lock_bypass: bool = False  # the actor is in `[locks] bypass`: `*` locks let them through
    soak: Soak | None = None  # None when the environment sets no `min_soak` (or has no previous environment)
    held_by_alerts: tuple[str, ...] = ()  # alerts that rolled this version back and nobody called "Not related"
    change_class: str = "normal"  # an emergency change passes a freeze with its override recorded automatically
    cab_needed: bool = False  # a normal change of a risk in `[risk] cab`, deploying to the final environment
    cab_decision: str | None = None  # approve | reject | defer, once the CAB (or a release manager) decided


Gate = Callable[[GateFacts], Refusal | None]


def status_gate(facts: GateFacts) -> Refusal | None:
    if facts.status in UNDEPLOYABLE:
        return Refusal(
            "status",
            Message("{ref} is {status}, so it cannot be deployed.", ref=facts.ref, status=facts.status.label),
            f"{facts.ref} is {facts.status.label}",
        )
    return None


def pipeline_gate(facts: GateFacts) -> Refusal | None:
    if facts.previous_environment and not facts.deployed_to_previous:
        return Refusal(
            "pipeline",
            Message(
                "{ref} has not been deployed to {previous} yet; "
                "deploy it there first (`/release deploy {ref} {previous}`).",
                ref=facts.ref,
                previous=facts.previous_environment,
            ),
            f"not deployed to {facts.previous_environment} yet",
        )
    return None


def approvals_gate(facts: GateFacts) -> Refusal | None:
    state = facts.approvals
    if state is None or state.met:
        return None
    env = facts.environment.name
    if state.rejected_by:
        return Refusal(
            "approvals",
            Message("{ref} was rejected for {env}; it cannot be deployed.", ref=facts.ref, env=env),
            f"rejected for {env}",
        )
    have = state.counted
    missing_groups = [f"{g.name} {len(g.filled_by)}/{g.required}" for g in state.groups if not g.met]
    detail = Message(" (groups short: {groups})", groups=missing_groups) if missing_groups else ""
    return Refusal(
        "approvals",
        Message(
            "{ref} has {have}/{required} approvals for {env}{detail}; "
            "approvers can add theirs with `/release approve {ref}`.",
            ref=facts.ref,
            have=have,
            required=state.required,
            env=env,
            detail=detail,
        ),
        f"{have} of {state.required} approvals for {env}",
    )


def regression_gate(facts: GateFacts) -> Refusal | None:
    if facts.regression_passed_in_previous is False and facts.previous_environment:
        env = facts.previous_environment
        failed: Message | str = ""
        if facts.regression_failed_note is not None:
            note = (
                Message(": “{note}”", note=facts.regression_failed_note[:200]) if facts.regression_failed_note else ""
            )
            failed = Message(" The latest sign-off in {env} failed{note}.", env=env, note=note)
        return Refusal(
            "regression",
            Message(
                "{ref} needs a passed regression sign-off in {env} before {target}.{failed} "
                "Once regression passes: `/release verify {ref} {env} passed`.",
                ref=facts.ref,
                env=env,
                target=facts.environment.name,
                failed=failed,
            ),
            f"no passed regression sign-off in {env}",
        )
    return None


def freeze_gate(facts: GateFacts) -> Refusal | None:
    if not facts.freezes:
        return None
    freeze = facts.freezes[0]
    env = facts.environment.name
    if facts.override_reason:
        if facts.actor_is_release_manager or facts.change_class == "emergency":
            return None
        return Refusal(
            "freeze",
            Message("{env} is frozen ({label}); only a release manager may override it.", env=env, label=freeze.label),
            f"{env} is frozen",
        )
    return Refusal(
        "freeze",
        Message(
            "{env} is frozen ({label}: {reason}) until {until}. "
            "A release manager may override: `/release deploy {ref} {env} --override <reason>`.",
            env=env,
            label=freeze.label,
            reason=freeze.reason,
            until=When(freeze.ends_at),
            ref=facts.ref,
        ),
        f"{env} is frozen",
    )


def lock_gate(facts: GateFacts) -> Refusal | None:
    """A deploy lock: only its holder deploys (through a `*` lock, `[locks] bypass` too)."""
    lock, _bypassed = blocking(facts.locks, acting_for=facts.lock_acting_for, bypass=facts.lock_bypass)
    if lock is None:
        return None
    what = label(lock.service if lock.all_services else facts.service, lock.environment)
    return Refusal("lock", refusal_text(lock, facts.service), f"{what} is locked")


def soak_gate(facts: GateFacts) -> Refusal | None:
    soak = facts.soak
    if soak is None or soak.met or not facts.deployed_to_previous:
        return None
    env = facts.environment.name
    if facts.override_reason and facts.override_reason != EMERGENCY_OVERRIDE:  # a person's, not a frozen emergency's
        if facts.actor_is_release_manager:
            return None
        return Refusal(
            "soak",
            Message(
                "{ref} has not soaked in {previous} yet; only a release manager may skip it.",
                ref=facts.ref,
                previous=soak.environment,
            ),
            f"{soak.environment} soak not met",
        )
    if soak.since is None:
        state = Message(
            "{why}, so its soak in {previous} has not started", why=soak.unhealthy, previous=soak.environment
        )
    else:
        state = Message(
            "{previous} soak: {left} left (until {until})",
            previous=soak.environment,
            left=countdown(soak.left),
            until=When(soak.since + soak.required),
        )
    return Refusal(
        "soak",
        Message(
            "{ref} must run healthy in {previous} for {required} before {env}; {state}. "
            "A release manager may skip it: `/release deploy {ref} {env} --override <reason>`.",
            ref=facts.ref,
            previous=soak.environment,
            required=countdown(soak.required),
            env=env,
            state=state,
        ),
        f"{soak.environment} soak: {countdown(soak.left)} left"
        if soak.since
        else f"{soak.environment} soak not started",
    )


def alerts_gate(facts: GateFacts) -> Refusal | None:
    if not facts.held_by_alerts:
        return None
    return Refusal(
        "alerts",
        Message(
            "{ref} was rolled back because {alerts} fired after it was deployed; it is held until someone who may "
            'deploy answers "Not related" on the alert in its thread.',
            ref=facts.ref,
            alerts=", ".join(facts.held_by_alerts),
        ),
        "held by alerts: " + ", ".join(facts.held_by_alerts),
    )


def cab_gate(facts: GateFacts) -> Refusal | None:
    if not facts.cab_needed or facts.cab_decision == "approve":
        return None
    env = facts.environment.name
    if facts.cab_decision == "reject":
        return Refusal(
            "cab",
            Message("The CAB rejected {ref}; it cannot go to {env}.", ref=facts.ref, env=env),
            "rejected by the CAB",
        )
    state = "was deferred by the CAB" if facts.cab_decision == "defer" else "needs the CAB's approval"
    return Refusal(
        "cab",
        Message(
            "{ref} {state} before {env} (its risk goes to the change advisory board; `/release cab` shows the "
            "agenda). A release manager may decide out of band: `/release cab approve {ref}`.",
            ref=facts.ref,
            state=state,
            env=env,
        ),
        f"no CAB approval for {env}",
    )


GATES: tuple[Gate, ...] = (
    status_gate,
    pipeline_gate,
    approvals_gate,
    regression_gate,
    freeze_gate,
    cab_gate,
    lock_gate,
    soak_gate,
    alerts_gate,
)


def evaluate(facts: GateFacts, gates: Sequence[Gate] = GATES) -> list[Refusal]:
    """Every gate's refusal, in order; empty means the deployment may go ahead."""
    return [refusal for gate in gates if (refusal := gate(facts)) is not None]
