"""Deployment gates: each small check alone, then `evaluate` over them all."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.domain.approval_policy import ApprovalState, GroupProgress
from bot.domain.gates import (
    GATES,
    ActiveFreeze,
    GateFacts,
    alerts_gate,
    approvals_gate,
    cab_gate,
    evaluate,
    freeze_gate,
    lock_gate,
    pipeline_gate,
    regression_gate,
    soak_gate,
    status_gate,
)
from bot.domain.lifecycle import Status
from bot.domain.policy import Environment
from bot.slack_text import mrkdwn

PROD = Environment(name="prod", approvals=2, approvers=["U0BOB", "U0CAROL"])
QA = Environment(name="qa", regression_required=True)
FREEZE = ActiveFreeze(label="#3 “quarter close”", reason="books <closing>", ends_at=datetime(2026, 12, 1, tzinfo=UTC))


def facts(**changes: object) -> GateFacts:
    """A prod deployment that every gate lets through; each test breaks one thing."""
    base = GateFacts(
        ref="payments@2.5.0",
        status=Status.IN_PROGRESS,
        environment=PROD,
        previous_environment="qa",
        deployed_to_previous=True,
        approvals=ApprovalState(environment="prod", required=2, approved_by=("U0BOB", "U0CAROL")),
        regression_passed_in_previous=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_all_clear_passes_every_gate() -> None:
    assert evaluate(facts()) == []


@pytest.mark.parametrize("status", [Status.REJECTED, Status.CANCELLED, Status.ROLLED_BACK, Status.REVIEWED])
def test_status_gate_refuses_dead_releases(status: Status) -> None:
    refusal = status_gate(facts(status=status))
    assert refusal is not None
    assert refusal.gate == "status"
    assert f"is {status.label}" in mrkdwn(refusal.message)


@pytest.mark.parametrize("status", [Status.PROPOSED, Status.APPROVED, Status.IN_PROGRESS, Status.RELEASED])
def test_status_gate_lets_live_releases_through(status: Status) -> None:
    assert status_gate(facts(status=status)) is None


def test_pipeline_gate_names_the_previous_environment_and_the_command() -> None:
    refusal = pipeline_gate(facts(deployed_to_previous=False))
    assert refusal is not None
    assert "not been deployed to qa" in mrkdwn(refusal.message)
    assert "`/release deploy payments@2.5.0 qa`" in mrkdwn(refusal.message)


def test_pipeline_gate_ignores_the_first_environment() -> None:
    assert pipeline_gate(facts(previous_environment=None, deployed_to_previous=False)) is None


def test_approvals_gate_counts_and_says_how_to_approve() -> None:
    short = ApprovalState(environment="prod", required=2, approved_by=("U0BOB",))
    refusal = approvals_gate(facts(approvals=short))
    assert refusal is not None
    assert "1/2 approvals for prod" in mrkdwn(refusal.message)
    assert "`/release approve payments@2.5.0`" in mrkdwn(refusal.message)


def test_approvals_gate_names_short_groups() -> None:
    state = ApprovalState(
        environment="prod",
        required=2,
        approved_by=("U0BOB", "U0CAROL"),
        groups=(GroupProgress("security", 1, ()), GroupProgress("sre", 1, ("U0BOB",))),
    )
    refusal = approvals_gate(facts(approvals=state))
    assert refusal is not None
    assert "security 0/1" in mrkdwn(refusal.message)
    assert "sre" not in mrkdwn(refusal.message)


def test_approvals_gate_refuses_a_rejection() -> None:
    state = ApprovalState(environment="prod", required=2, approved_by=("U0BOB", "U0CAROL"), rejected_by=("U0DAVE",))
    refusal = approvals_gate(facts(approvals=state))
    assert refusal is not None
    assert "rejected" in mrkdwn(refusal.message)


def test_approvals_gate_passes_environments_without_approvals() -> None:
    assert approvals_gate(facts(approvals=None)) is None


def test_regression_gate_asks_for_a_passed_sign_off() -> None:
    refusal = regression_gate(facts(regression_passed_in_previous=False))
    assert refusal is not None
    assert "needs a passed regression sign-off in qa before prod" in mrkdwn(refusal.message)
    assert "`/release verify payments@2.5.0 qa passed`" in mrkdwn(refusal.message)
    assert "failed" not in mrkdwn(refusal.message)


def test_regression_gate_quotes_the_failed_sign_off_escaped() -> None:
    refusal = regression_gate(facts(regression_passed_in_previous=False, regression_failed_note="login <!here> broken"))
    assert refusal is not None
    assert "The latest sign-off in qa failed" in mrkdwn(refusal.message)
    assert "&lt;!here&gt;" in mrkdwn(refusal.message)
    assert "<!here>" not in mrkdwn(refusal.message)


def test_regression_gate_ignores_environments_that_do_not_require_it() -> None:
    assert regression_gate(facts(regression_passed_in_previous=None)) is None


def test_freeze_gate_refuses_and_offers_the_override() -> None:
    refusal = freeze_gate(facts(freezes=[FREEZE]))
    assert refusal is not None
    assert refusal.gate == "freeze"
    assert "prod is frozen" in mrkdwn(refusal.message)
    assert "--override &lt;reason&gt;" in mrkdwn(refusal.message)
    assert "&lt;closing&gt;" in mrkdwn(refusal.message)


def test_freeze_gate_lets_a_release_manager_override() -> None:
    assert freeze_gate(facts(freezes=[FREEZE], override_reason="hotfix", actor_is_release_manager=True)) is None


def test_freeze_gate_refuses_an_override_by_someone_else() -> None:
    refusal = freeze_gate(facts(freezes=[FREEZE], override_reason="hotfix", actor_is_release_manager=False))
    assert refusal is not None
    assert "only a release manager" in mrkdwn(refusal.message)


def test_evaluate_reports_every_refusal_in_gate_order() -> None:
    broken = facts(
        status=Status.ROLLED_BACK,
        deployed_to_previous=False,
        approvals=ApprovalState(environment="prod", required=2, approved_by=()),
        regression_passed_in_previous=False,
        freezes=[FREEZE],
    )
    assert [refusal.gate for refusal in evaluate(broken)] == ["status", "pipeline", "approvals", "regression", "freeze"]


def test_evaluate_takes_any_subset_of_gates() -> None:
    broken = facts(deployed_to_previous=False, regression_passed_in_previous=False)
    assert [r.gate for r in evaluate(broken, gates=[regression_gate])] == ["regression"]
    assert set(GATES) == {
        status_gate,
        pipeline_gate,
        approvals_gate,
        regression_gate,
        freeze_gate,
        cab_gate,
        lock_gate,
        soak_gate,
        alerts_gate,
    }
