"""The release state machine, checked over every status × event: each pair either moves where the table below
says, or is refused with a message naming the status."""

import itertools

import pytest

from bot.domain.errors import InvalidTransition
from bot.domain.lifecycle import TRANSITIONS, UNDEPLOYABLE, Event, Status, can, next_status
from bot.slack_text import mrkdwn

S, E = Status, Event

# Written out independently of bot.domain.lifecycle.TRANSITIONS, so a slip in either shows up here.
EXPECTED: dict[tuple[Status, Event], Status] = {
    (S.PROPOSED, E.QUORUM_MET): S.APPROVED,
    (S.PROPOSED, E.SCOPE_CHANGED): S.PROPOSED,
    (S.PROPOSED, E.REJECTED): S.REJECTED,
    (S.PROPOSED, E.DEPLOYED): S.IN_PROGRESS,
    (S.PROPOSED, E.DEPLOYED_FINAL): S.RELEASED,
    (S.PROPOSED, E.CANCELLED): S.CANCELLED,
    (S.APPROVED, E.SCOPE_CHANGED): S.PROPOSED,
    (S.APPROVED, E.REJECTED): S.REJECTED,
    (S.APPROVED, E.DEPLOYED): S.IN_PROGRESS,
    (S.APPROVED, E.DEPLOYED_FINAL): S.RELEASED,
    (S.APPROVED, E.CANCELLED): S.CANCELLED,
    (S.IN_PROGRESS, E.QUORUM_MET): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.SCOPE_CHANGED): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.REJECTED): S.REJECTED,
    (S.IN_PROGRESS, E.DEPLOYED): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.DEPLOYED_FINAL): S.RELEASED,
    (S.IN_PROGRESS, E.ROLLED_BACK): S.ROLLED_BACK,
    (S.IN_PROGRESS, E.CANCELLED): S.CANCELLED,
    (S.RELEASED, E.DEPLOYED): S.RELEASED,
    (S.RELEASED, E.DEPLOYED_FINAL): S.RELEASED,
    (S.RELEASED, E.ROLLED_BACK): S.ROLLED_BACK,
    (S.RELEASED, E.REVIEW_CLOSED): S.REVIEWED,
    (S.ROLLED_BACK, E.REVIEW_CLOSED): S.REVIEWED,
    (S.REJECTED, E.REJECTION_WITHDRAWN): S.PROPOSED,
    (S.REJECTED, E.REPROPOSED): S.PROPOSED,
    (S.REJECTED, E.CANCELLED): S.CANCELLED,
}

ALL_PAIRS = list(itertools.product(Status, Event))


@pytest.mark.parametrize(("status", "event"), ALL_PAIRS, ids=[f"{s.value}-{e.value}" for s, e in ALL_PAIRS])
def test_every_status_and_event(status: Status, event: Event) -> None:
    expected = EXPECTED.get((status, event))
    assert can(status, event) is (expected is not None)
    if expected is not None:
        assert next_status(status, event, ref="payments@2.4.0") is expected
    else:
        with pytest.raises(InvalidTransition) as refused:
            next_status(status, event, ref="payments@2.4.0")
        assert f"payments@2.4.0 is {status.label}" in mrkdwn(refused.value.text)


def test_table_has_no_pairs_beyond_the_expected_ones() -> None:
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize(
    ("events", "final"),
    [
        ([E.DEPLOYED, E.DEPLOYED, E.DEPLOYED_FINAL], S.RELEASED),  # dev → qa → prod
        ([E.QUORUM_MET, E.DEPLOYED, E.DEPLOYED_FINAL], S.RELEASED),
        ([E.DEPLOYED, E.DEPLOYED_FINAL, E.DEPLOYED], S.RELEASED),  # a later re-deploy to dev keeps it released
        ([E.DEPLOYED, E.DEPLOYED_FINAL, E.ROLLED_BACK], S.ROLLED_BACK),
        ([E.DEPLOYED, E.ROLLED_BACK], S.ROLLED_BACK),
        ([E.REJECTED, E.REJECTION_WITHDRAWN, E.QUORUM_MET], S.APPROVED),
    ],
)
def test_status_follows_the_furthest_environment(events: list[Event], final: Status) -> None:
    status = S.PROPOSED
    for event in events:
        status = next_status(status, event)
    assert status is final


def test_nothing_leaves_a_terminal_state_except_by_review() -> None:
    for status in (S.CANCELLED, S.REVIEWED):
        assert not any(can(status, event) for event in Event)


def test_undeployable_states_refuse_deployment() -> None:
    for status in UNDEPLOYABLE:
        assert not can(status, E.DEPLOYED)
        assert not can(status, E.DEPLOYED_FINAL)
    for status in set(Status) - UNDEPLOYABLE:
        assert can(status, E.DEPLOYED)
        assert can(status, E.DEPLOYED_FINAL)
