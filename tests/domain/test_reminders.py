"""Reminder rules: who is asked, coalescing into one digest per person, and timing."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.approval_policy import evaluate
from bot.domain.policy import ApprovalGroup, Environment
from bot.domain.reminders import (
    Kind,
    Waiting,
    action_item_due,
    approver_entities,
    digest_recipients,
    next_nudge,
    waiting_on_users,
    when_deliverable,
    window_due,
)
from bot.domain.working_hours import WorkingHours

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
PROD = Environment(name="prod", approvals=2, approvers=["U0BOB", "U0CAROL", "S0RM"])


def test_asked_are_the_approvers_who_have_not_approved_yet() -> None:
    state = evaluate(PROD, approvals=["U0BOB"], proposer_id="U0ALICE", members={})
    assert approver_entities(PROD, state, ["U0RM"]) == ["U0CAROL", "S0RM"]
    met = evaluate(PROD, approvals=["U0BOB", "U0CAROL"], proposer_id="U0ALICE", members={})
    assert approver_entities(PROD, met, ["U0RM"]) == []


def test_without_named_approvers_the_release_managers_are_asked() -> None:
    env = Environment(name="prod", approvals=1)
    state = evaluate(env, approvals=[], proposer_id="U0ALICE", members={})
    assert approver_entities(env, state, ["U0RM"]) == ["U0RM"]


def test_only_groups_still_short_are_asked() -> None:
    env = Environment(
        name="prod",
        approvals=2,
        approval_groups=[ApprovalGroup(name="sec", members=["U0SEC"]), ApprovalGroup(name="ops", members=["U0OPS"])],
    )
    state = evaluate(env, approvals=["U0SEC"], proposer_id="U0ALICE", members={})
    assert approver_entities(env, state, []) == ["U0OPS"]


def test_one_digest_per_person_listing_everything_waiting_on_them() -> None:
    members = {"S0RM": frozenset({"U0BOB", "U0ZED", "U0ALICE"})}
    a = Waiting(1, "payments@2.4.0", "prod", 0, 2, NOW)
    b = Waiting(2, "billing@1.0.0", "prod", 1, 2, NOW)
    state_a = evaluate(PROD, approvals=[], proposer_id="U0ALICE", members=members)
    state_b = evaluate(PROD, approvals=["U0CAROL"], proposer_id="U0ALICE", members=members)
    waiting = waiting_on_users(
        [(a, ["U0BOB", "U0CAROL", "S0RM"], ("U0ALICE",), state_a), (b, ["U0BOB", "S0RM"], ("U0ALICE",), state_b)],
        members,
    )
    assert [w.ref for w in waiting["U0BOB"]] == ["payments@2.4.0", "billing@1.0.0"]  # Bob once per release
    assert [w.ref for w in waiting["U0CAROL"]] == ["payments@2.4.0"]
    assert "U0ALICE" not in waiting  # the proposer, though in the group

    # Bob has a job of his own: the group's job reminds only the members without one.
    chosen = digest_recipients(["S0RM"], waiting, members, scheduled=["U0BOB", "U0CAROL"])
    assert list(chosen) == ["U0ZED"]
    assert list(digest_recipients(["U0BOB", "S0RM"], waiting, members, ["U0BOB"])) == ["U0BOB", "U0ZED"]


def test_nudges_wait_for_working_hours_but_time_bound_notices_do_not() -> None:
    hours = WorkingHours.parse("09:00-18:00", ["mon", "tue", "wed", "thu", "fri"], ZoneInfo("UTC"))
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    monday = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    assert when_deliverable(Kind.APPROVAL, saturday, hours) == monday
    assert when_deliverable(Kind.ACTION_ITEM, saturday, hours) == monday
    assert when_deliverable(Kind.WINDOW, saturday, hours) == saturday
    assert when_deliverable(Kind.REVIEW, saturday, hours) == saturday
    # A recurring nudge never catches up missed rounds: the next one is `every` after it went out.
    assert next_nudge(NOW, timedelta(hours=4), hours) == NOW + timedelta(hours=4)
    assert next_nudge(NOW, timedelta(hours=9), hours) == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def test_window_and_action_item_timing() -> None:
    hour = timedelta(hours=1)
    assert window_due(NOW + 3 * hour, hour, NOW) == NOW + 2 * hour
    assert window_due(NOW + hour / 2, hour, NOW) == NOW  # closer than `before`: right away
    assert window_due(NOW - hour, hour, NOW) is None  # already begun
    day = timedelta(days=1)
    assert action_item_due(NOW + 3 * day, day, NOW) == (NOW + 2 * day, "before")
    assert action_item_due(NOW + hour, day, NOW) == (NOW + hour, "due")
