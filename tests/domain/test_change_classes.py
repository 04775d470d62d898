"""Change classes, pure: the policy sections are strict, a release's class and risk set each environment's quorum,
the CAB and freeze gates treat classes as the policy says, and `policy explain` prints each class's path."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.domain import cab, change_classes, grammar
from bot.domain.errors import DomainError, InvalidInput, NotAllowed
from bot.domain.gates import ActiveFreeze, cab_gate, freeze_gate
from bot.domain.grammar.releases import Propose
from bot.domain.policy import PolicyError, parse_policy
from bot.domain.policy_explain import explain
from bot.domain.proposal import ProposeRequest
from tests.conftest import POLICY
from tests.domain.test_gates import facts

CLASSES = """
[[standard_changes]]
name = "feature flag flip"
services = ["payments"]
max_risk = "medium"
authorised_by = "U0RM"
authorised_on = 2026-11-01

[risk]
approvals = { medium = 1, high = 3 }
cab = ["high"]

[emergency]
approvers = ["S0ONCALL"]
retro_within = "12h"

[cab]
channel = "C0CAB"
members = ["S0CAB"]
meets = "Tue 14:00"
agenda_before = "24h"
"""
POLICY_WITH_CLASSES = parse_policy(POLICY + CLASSES)


@dataclass
class Release:
    change_class: str = "normal"
    risk: str = "medium"
    standard_name: str | None = None
    retro_due_at: datetime | None = None
    retro_approved_at: datetime | None = None


def _approvals(release: Release) -> dict[str, int]:
    return {env.name: env.approvals for env in change_classes.view(POLICY_WITH_CLASSES, release).environments}


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("[risk]\napprovals = { extreme = 2 }\n", "risk.approvals.extreme"),
        ('[risk]\ncab = ["high"]\n', "[risk] cab names risks for the CAB"),
        ('[emergency]\nretro_within = "soon"\n', "is not a duration"),
        ('[emergency]\napprovers = ["bob"]\n', "is not a Slack user id"),
        ('[cab]\nchannel = "C0CAB"\n', "a CAB needs all of channel, members and meets"),
        ('[cab]\nchannel = "C0CAB"\nmembers = ["U0A"]\nmeets = "someday"\n', "is not a weekday"),
        ('[cab]\nchair = "U0A"\n', "unknown key"),
        (
            '[[standard_changes]]\nname = "x"\nservices = ["a"]\nauthorised_by = "U0RM"\nauthorised_on = 2026-11-01\n'
            '[[standard_changes]]\nname = "X"\nservices = ["b"]\nauthorised_by = "U0RM"\nauthorised_on = 2026-11-01\n',
            "standard change names must be unique",
        ),
        ('[[standard_changes]]\nname = "x"\nservices = ["a"]\nauthorised_by = "U0RM"\n', "authorised_on"),
    ],
)
def test_policy_sections_are_strict(section: str, problem: str) -> None:
    with pytest.raises(PolicyError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_policy(POLICY + section)


def test_risk_sets_the_quorum_where_an_environment_needs_any() -> None:
    assert _approvals(Release(risk="low")) == {"dev": 0, "qa": 0, "prod": 2}
    assert _approvals(Release(risk="medium")) == {"dev": 0, "qa": 0, "prod": 2}  # never below its own
    assert _approvals(Release(risk="high")) == {"dev": 0, "qa": 0, "prod": 3}


def test_standard_change_needs_no_approval_and_emergency_one_before_anything() -> None:
    assert _approvals(Release("standard", "low", "feature flag flip")) == {"dev": 0, "qa": 0, "prod": 0}
    emergency = change_classes.view(POLICY_WITH_CLASSES, Release("emergency", "high"))
    assert [env.approvals for env in emergency.environments] == [1, 0, 0]
    assert emergency.environments[0].approvers == ["S0ONCALL"]
    in_prod = Release("emergency", "high", retro_due_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert _approvals(in_prod) == {"dev": 0, "qa": 0, "prod": 3}  # the full approval, after the fact


def test_a_standard_change_that_does_not_fit_is_refused_with_the_reason() -> None:
    def classify(**fields: str) -> ProposeRequest:
        request = ProposeRequest(service="payments", version="1.0.0", summary="Flip", standard_name="feature flag flip")
        return change_classes.classify(POLICY_WITH_CLASSES, ProposeRequest(**{**request.__dict__, **fields}))

    assert classify().risk == "medium"  # the template's max_risk when none is given
    assert classify(risk="low").change_class == "standard"
    with pytest.raises(InvalidInput, match="risk medium at most"):
        classify(risk="high")
    with pytest.raises(InvalidInput, match="checkout is not a service"):
        classify(service="checkout")


def test_cab_gate_and_emergency_freeze_pass() -> None:
    assert cab_gate(facts()) is None
    refused = cab_gate(facts(cab_needed=True))
    assert refused is not None
    assert "needs the CAB's approval before prod" in refused.message.plain()
    assert cab_gate(facts(cab_needed=True, cab_decision="approve")) is None
    rejected = cab_gate(facts(cab_needed=True, cab_decision="reject"))
    assert rejected is not None
    assert "rejected" in rejected.message.plain()
    frozen = ActiveFreeze("#1", "quarter close", datetime(2026, 12, 31, tzinfo=UTC))
    assert freeze_gate(facts(freezes=[frozen])) is not None
    emergency = facts(freezes=[frozen], override_reason="emergency change", change_class="emergency")
    assert freeze_gate(emergency) is None


def test_cab_meets_weekly_and_decides_by_role() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a Monday
    meeting = cab.next_meeting(POLICY_WITH_CLASSES, now)
    assert meeting == datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
    assert cab.agenda_due(POLICY_WITH_CLASSES, meeting) == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    members = {"S0CAB": frozenset({"U0CABBY"})}
    assert cab.may_decide(POLICY_WITH_CLASSES, "U0CABBY", members, proposer_id="U0ALICE", ref="p@1") is True
    assert cab.may_decide(POLICY_WITH_CLASSES, "U0RM", members, proposer_id="U0ALICE", ref="p@1") is False
    with pytest.raises(NotAllowed, match="Only CAB members"):
        cab.may_decide(POLICY_WITH_CLASSES, "U0BOB", members, proposer_id="U0ALICE", ref="p@1")
    with pytest.raises(NotAllowed, match="You proposed"):
        cab.may_decide(POLICY_WITH_CLASSES, "U0CABBY", members, proposer_id="U0CABBY", ref="p@1")


def test_policy_explain_prints_each_class_path() -> None:
    explained = explain(POLICY_WITH_CLASSES)
    assert "  normal, high risk: dev: no approvals → qa: no approvals → prod: 3 approvals, then the CAB" in explained
    assert '  standard "feature flag flip" (payments; risk up to medium; pre-authorised by U0RM on 2026-11-01)' in (
        explained
    )
    assert "  emergency: dev: 1 approval from S0ONCALL → qa: no approvals → prod: no approvals" in explained
    assert "the full approval of its risk is due 12h after it reaches prod" in explained
    assert "  CAB: S0CAB, meets tue 14:00 (UTC); agenda in C0CAB 24h before; risks high" in explained


def test_release_managers_decide_out_of_band_only_before_the_meeting() -> None:
    meeting = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
    cab.check_out_of_band("p@1", datetime(2026, 12, 8, 9, 0, tzinfo=UTC), meeting)
    with pytest.raises(NotAllowed, match="is planned after the CAB's next meeting"):
        cab.check_out_of_band("p@1", datetime(2026, 12, 9, 9, 0, tzinfo=UTC), meeting)
    with pytest.raises(NotAllowed, match="is not planned yet"):
        cab.check_out_of_band("p@1", None, meeting)


@pytest.mark.parametrize(
    ("text", "standard", "emergency", "incident", "summary"),
    [
        ('propose payments 1.0.0 --standard "feature flag flip" Flag on', "feature flag flip", False, None, "Flag on"),
        (
            "propose payments 1.0.0 --standard \u201cfeature flag flip\u201d Flag on",
            "feature flag flip",
            False,
            None,
            "Flag on",
        ),
        ("propose payments 1.0.0 --risk low --standard flip Flag on", "flip", False, None, "Flag on"),
        ("propose payments 1.0.0 --emergency Cards fail", None, True, None, "Cards fail"),
        (
            "propose payments 1.0.0 --emergency --incident <https://s.example.com/i/1> Cards fail",
            None,
            True,
            "https://s.example.com/i/1",
            "Cards fail",
        ),
    ],
)
def test_propose_flags(text: str, standard: str | None, emergency: bool, incident: str | None, summary: str) -> None:
    parsed = grammar.parse(text)
    assert isinstance(parsed, Propose)
    assert (parsed.standard, parsed.emergency, parsed.incident, parsed.summary) == (
        standard,
        emergency,
        incident,
        summary,
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('propose payments 1.0.0 --standard "flip Flag on', "no closing one"),
        ("propose payments 1.0.0 --emergency", "Missing the reason for the emergency"),
        ('propose payments 1.0.0 --standard "" x', "needs a value"),
        ("propose payments 1.0.0 --emergency --emergency x", "given twice"),
    ],
)
def test_propose_flags_refused(text: str, problem: str) -> None:
    with pytest.raises(DomainError, match=problem):
        grammar.parse(text)
