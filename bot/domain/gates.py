"""Deployment gates: small, composable checks. Each looks at the facts and either passes or says exactly
why not and which command would unblock it. Adding a gate means adding a function to GATES."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.approval_policy import ApprovalState
from bot.domain.lifecycle import UNDEPLOYABLE, Status
from bot.domain.mrkdwn import escape
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


@dataclass(frozen=True)
class Refusal:
    gate: str
    message: str  # what is wrong and the command that would unblock it


Gate = Callable[[GateFacts], Refusal | None]


def status_gate(facts: GateFacts) -> Refusal | None:
    if facts.status in UNDEPLOYABLE:
        return Refusal("status", f"{facts.ref} is {facts.status.label}, so it cannot be deployed.")
    return None


def pipeline_gate(facts: GateFacts) -> Refusal | None:
    if facts.previous_environment and not facts.deployed_to_previous:
        return Refusal(
            "pipeline",
            f"{facts.ref} has not been deployed to {facts.previous_environment} yet; "
            f"deploy it there first (`/release deploy {facts.ref} {facts.previous_environment}`).",
        )
    return None


def approvals_gate(facts: GateFacts) -> Refusal | None:
    state = facts.approvals
    if state is None or state.met:
        return None
    if state.rejected_by:
        return Refusal("approvals", f"{facts.ref} was rejected for {facts.environment.name}; it cannot be deployed.")
    have = min(len(state.approved_by), state.required)
    missing_groups = [f"{g.name} {len(g.filled_by)}/{g.required}" for g in state.groups if not g.met]
    detail = f" (groups short: {', '.join(missing_groups)})" if missing_groups else ""
    return Refusal(
        "approvals",
        f"{facts.ref} has {have}/{state.required} approvals for {facts.environment.name}{detail}; "
        f"approvers can add theirs with `/release approve {facts.ref}`.",
    )


def regression_gate(facts: GateFacts) -> Refusal | None:
    if facts.regression_passed_in_previous is False and facts.previous_environment:
        env = facts.previous_environment
        failed = ""
        if facts.regression_failed_note is not None:
            note = f": “{escape(facts.regression_failed_note[:200])}”" if facts.regression_failed_note else ""
            failed = f" The latest sign-off in {env} failed{note}."
        return Refusal(
            "regression",
            f"{facts.ref} needs a passed regression sign-off in {env} before {facts.environment.name}.{failed} "
            f"Once regression passes: `/release verify {facts.ref} {env} passed`.",
        )
    return None


def freeze_gate(facts: GateFacts) -> Refusal | None:
    if not facts.freezes:
        return None
    freeze = facts.freezes[0]
    until = (
        f"<!date^{int(freeze.ends_at.timestamp())}^{{date_short_pretty}} {{time}}|{freeze.ends_at:%Y-%m-%d %H:%M} UTC>"
    )
    if facts.override_reason:
        if facts.actor_is_release_manager:
            return None
        return Refusal(
            "freeze",
            f"{facts.environment.name} is frozen ({escape(freeze.label)}); only a release manager may override it.",
        )
    return Refusal(
        "freeze",
        f"{facts.environment.name} is frozen ({escape(freeze.label)}: {escape(freeze.reason)}) until {until}. "
        f"A release manager may override: "
        f"`/release deploy {facts.ref} {facts.environment.name} --override &lt;reason&gt;`.",
    )


GATES: tuple[Gate, ...] = (status_gate, pipeline_gate, approvals_gate, regression_gate, freeze_gate)


def evaluate(facts: GateFacts, gates: Sequence[Gate] = GATES) -> list[Refusal]:
    """Every gate's refusal, in order; empty means the deployment may go ahead."""
    return [refusal for gate in gates if (refusal := gate(facts)) is not None]
