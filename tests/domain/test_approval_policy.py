"""Quorum, separation of duties, groups filled once per person."""

import pytest

from bot.domain import permissions
from bot.domain.approval_policy import add_author, authors_of, evaluate
from bot.domain.errors import NotAllowed
from bot.domain.permissions import Permission
from bot.domain.policy import ApprovalGroup, Environment, Members, Policy
from bot.slack_text import mrkdwn

PROD = Environment(name="prod", approvals=2, approvers=["U0BOB", "U0CAROL", "S0RELMGR"])
GROUPED = Environment(
    name="prod",
    approvals=2,
    approval_groups=[
        ApprovalGroup(name="qa", members=["S0QA"], required=1),
        ApprovalGroup(name="release", members=["S0RM"], required=1),
    ],
)
MEMBERS: Members = {
    "S0RELMGR": frozenset({"U0RM"}),
    "S0QA": frozenset({"U0QA", "U0BOTH"}),
    "S0RM": frozenset({"U0RM", "U0BOTH"}),
}


def check_may_approve(env: Environment, *, user_id: str, proposer_id: str, scope_authors: tuple[str, ...] = ()) -> None:
    policy = Policy(environments=[env])
    permissions.check(
        policy,
        env,
        Permission.APPROVE,
        user_id=user_id,
        members=MEMBERS,
        ref="p@1",
        proposer_id=proposer_id,
        scope_authors=scope_authors,
    )


def test_quorum_counts_distinct_eligible_people() -> None:
    state = evaluate(PROD, approvals=["U0BOB", "U0BOB"], proposer_id="U0ALICE", members=MEMBERS)
    assert state.approved_by == ("U0BOB",)
    assert not state.met
    state = evaluate(PROD, approvals=["U0BOB", "U0RM"], proposer_id="U0ALICE", members=MEMBERS)
    assert state.met


def test_proposer_never_counts_even_if_listed() -> None:
    state = evaluate(PROD, approvals=["U0BOB", "U0CAROL"], proposer_id="U0BOB", members=MEMBERS)
    assert state.approved_by == ("U0CAROL",)
    assert not state.met
    with pytest.raises(NotAllowed, match="separation of duties"):
        check_may_approve(PROD, user_id="U0BOB", proposer_id="U0BOB")


def test_outsider_refused_with_who_can() -> None:
    with pytest.raises(NotAllowed) as caught:
        check_may_approve(PROD, user_id="U0EVE", proposer_id="U0ALICE")
    assert "<@U0BOB>" in mrkdwn(caught.value.text)
    assert "<!subteam^S0RELMGR>" in mrkdwn(caught.value.text)


def test_group_member_via_user_group_may_approve() -> None:
    check_may_approve(PROD, user_id="U0RM", proposer_id="U0ALICE")


def test_groups_need_each_quota_and_one_person_fills_one_slot() -> None:
    both_only = evaluate(GROUPED, approvals=["U0BOTH"], proposer_id="U0ALICE", members=MEMBERS)
    assert not both_only.met
    assert sum(len(g.filled_by) for g in both_only.groups) == 1
    two_from_qa = evaluate(GROUPED, approvals=["U0QA", "U0BOTH"], proposer_id="U0ALICE", members=MEMBERS)
    # U0BOTH must take the release slot so that U0QA can take the qa slot.
    assert two_from_qa.met
    assert {g.name: g.filled_by for g in two_from_qa.groups} == {"qa": ("U0QA",), "release": ("U0BOTH",)}


def test_a_rejection_blocks_the_quorum() -> None:
    state = evaluate(PROD, approvals=["U0BOB", "U0CAROL"], rejections=["U0RM"], proposer_id="U0ALICE", members=MEMBERS)
    assert not state.met
    assert state.rejected_by == ("U0RM",)


def test_no_scope_author_approves_nor_counts() -> None:
    authors = ("U0ALICE", "U0BOB", "U0CAROL")  # bob edited, then carol
    for user in ("U0BOB", "U0CAROL"):
        with pytest.raises(NotAllowed, match="You changed the scope of p@1") as caught:
            check_may_approve(PROD, user_id=user, proposer_id="U0ALICE", scope_authors=authors)
        assert "<@U0BOB>, <@U0CAROL>" in mrkdwn(caught.value.text)  # who may (the rule, not the people it bars)
    check_may_approve(PROD, user_id="U0RM", proposer_id="U0ALICE", scope_authors=authors)
    state = evaluate(
        PROD, approvals=["U0BOB", "U0CAROL", "U0RM"], proposer_id="U0ALICE", scope_authors=authors, members=MEMBERS
    )
    assert state.approved_by == ("U0RM",)
    assert not state.met


def test_scope_authors_are_stored_once_each_in_order() -> None:
    stored = add_author(add_author(add_author("", "U0ALICE"), "U0BOB"), "U0ALICE")
    assert stored == "U0ALICE U0BOB"
    assert authors_of(stored) == ("U0ALICE", "U0BOB")
    assert authors_of("") == ()
    assert authors_of(" U0A  U0A U0B ") == ("U0A", "U0B")  # however it was written (0008 backfilled it)


def test_with_groups_the_approvers_may_approve_too() -> None:
    mixed = Environment(
        name="prod",
        approvals=2,
        approvers=["U0BOB"],
        approval_groups=[ApprovalGroup(name="qa", members=["S0QA"], required=1)],
    )
    check_may_approve(mixed, user_id="U0BOB", proposer_id="U0ALICE")
    check_may_approve(mixed, user_id="U0QA", proposer_id="U0ALICE")
    with pytest.raises(NotAllowed):
        check_may_approve(mixed, user_id="U0EVE", proposer_id="U0ALICE")
