"""Every rule for everyone who could ask (a release manager, the proposer, someone who changed the scope, the person
the policy lists, anyone else), and what each refusal tells them to do instead."""

import pytest

from bot.domain import permissions
from bot.domain.permissions import PER_ENVIRONMENT, Permission, Refused, Who
from bot.domain.policy import parse_policy

PROPOSER = "U0ALICE"

MANAGER, AUTHOR, LISTED, SOMEONE = "U0RM", "U0SAM", "U0BOB", "U0ZED"  # with PROPOSER: the five who could ask
EVERYONE = (MANAGER, PROPOSER, AUTHOR, LISTED, SOMEONE)
# One environment listing the proposer, the scope author and Bob everywhere, so the bars are what refuses them.
TABLE_POLICY = parse_policy(
    """
release_managers = ["U0RM"]

[[environments]]
name = "prod"
approvals = 1
approvers = ["U0ALICE", "U0SAM", "U0BOB"]
deployers = ["U0ALICE", "U0SAM", "U0BOB"]
verifiers = ["U0ALICE", "U0SAM", "U0BOB"]
"""
)
# Allowed? for (release manager, proposer, scope author, listed person, someone else). The listed person is the
# one the policy lists for the environment, or holds the part the rule names: the review's facilitator, someone
# who replied in its thread, the action item's owner, the author of the rejection being withdrawn.
EXPECTED = {
    Permission.APPROVE: (True, False, False, True, False),
    Permission.DEPLOY: (True, False, True, True, False),
    Permission.ROLL_BACK: (True, True, True, True, False),
    Permission.SIGN_OFF: (False, False, True, True, False),  # release managers are not verifiers
    Permission.REJECT: (True, False, False, True, False),
    Permission.WITHDRAW: (False, False, False, True, False),
    Permission.EDIT: (True, True, False, False, False),
    Permission.SCHEDULE: (True, True, False, False, False),
    Permission.CANCEL: (True, True, False, False, False),
    Permission.PROPOSE_AGAIN: (True, True, False, False, False),
    Permission.OVERRIDE_FREEZE: (True, False, False, False, False),
    Permission.FREEZE: (True, False, False, False, False),
    Permission.UNFREEZE: (True, False, False, False, False),
    Permission.CALENDAR_LINK: (True, False, False, False, False),
    Permission.EXPORT: (True, False, False, False, False),
    Permission.START_REVIEW: (True, True, False, True, False),
    Permission.CLOSE_REVIEW: (True, False, False, True, False),
    Permission.ADD_ACTION_ITEM: (True, False, False, True, False),
    Permission.CLOSE_ACTION_ITEM: (True, False, False, True, False),
    Permission.LOCK: (True, True, True, True, False),  # who may deploy, without the proposer's bar
    Permission.LIFT_LOCK: (True, True, True, True, False),  # the listed person holds the lock
    Permission.POST_NOTES: (True, True, False, False, False),
}


def refusal(action: Permission, user: str) -> Refused | None:
    """What `check` says when `user` asks for `action` on payments@2.5.0 (or action item #7) in prod."""
    prod = TABLE_POLICY.environments[0]
    parties = {
        Who.FACILITATOR: LISTED,
        Who.REPLIER: user if user == LISTED else None,  # the services say whether the asker replied
        Who.ITEM_OWNER: LISTED,
        Who.ITEM_AUTHOR: "U0ADDER",
        Who.REJECTION_AUTHOR: user if user == LISTED else None,  # … or has a rejection to withdraw
        Who.LOCK_HOLDER: LISTED,
    }
    try:
        permissions.check(
            TABLE_POLICY,
            prod if action in PER_ENVIRONMENT else None,
            action,
            user_id=user,
            members={},
            ref="7" if action is Permission.CLOSE_ACTION_ITEM else "payments@2.5.0",
            proposer_id=PROPOSER,
            scope_authors=(PROPOSER, AUTHOR),
            parties=parties,
            environments=[prod],
        )
    except Refused as refused:
        return refused
    return None


def test_the_table_covers_every_rule() -> None:
    assert set(EXPECTED) == set(Permission) == set(permissions.RULES)


@pytest.mark.parametrize("action", list(Permission))
@pytest.mark.parametrize("who", range(len(EVERYONE)), ids=["manager", "proposer", "scope author", "listed", "else"])
def test_every_rule_for_everyone(action: Permission, who: int) -> None:
    refused = refusal(action, EVERYONE[who])
    assert (refused is None) is EXPECTED[action][who]
    if refused is not None:
        assert refused.action is action  # the refusal names its rule


@pytest.mark.parametrize(
    ("action", "says"),
    [
        (
            Permission.APPROVE,
            "Only approvers of prod (@U0ALICE, @U0SAM, @U0BOB) or release managers (@U0RM) may "
            "approve releases for prod.",
        ),
        (
            Permission.DEPLOY,
            "Only deployers of prod (@U0ALICE, @U0SAM, @U0BOB) or release managers (@U0RM) may deploy to prod.",
        ),
        (
            Permission.ROLL_BACK,
            "Only deployers of prod (@U0ALICE, @U0SAM, @U0BOB) or release managers (@U0RM) may roll back prod.",
        ),
        (Permission.SIGN_OFF, "Only verifiers of prod (@U0ALICE, @U0SAM, @U0BOB) may sign off regression in prod."),
        (
            Permission.REJECT,
            "You may not reject payments@2.5.0; only approvers of prod (@U0ALICE, @U0SAM, @U0BOB) "
            "or release managers (@U0RM) may.",
        ),
        (Permission.WITHDRAW, "You have no rejection of payments@2.5.0 to withdraw; only its author can withdraw one."),
        (Permission.EDIT, "Only the proposer (@U0ALICE) or a release manager can edit payments@2.5.0."),
        (Permission.SCHEDULE, "Only the proposer (@U0ALICE) or a release manager can schedule payments@2.5.0."),
        (Permission.CANCEL, "Only the proposer (@U0ALICE) or a release manager can cancel payments@2.5.0."),
        (
            Permission.PROPOSE_AGAIN,
            "Only the proposer (@U0ALICE) or a release manager can propose payments@2.5.0 again.",
        ),
        (Permission.OVERRIDE_FREEZE, "Only a release manager may override a freeze."),
        (Permission.FREEZE, "Only release managers can freeze an environment. Ask a release manager: @U0RM."),
        (Permission.UNFREEZE, "Only release managers can lift a freeze. Ask a release manager: @U0RM."),
        (Permission.EXPORT, "Only release managers can export production changes. Ask a release manager: @U0RM."),
        (
            Permission.CALENDAR_LINK,
            "Only release managers can create the calendar link (a new one revokes the old). "
            "Ask a release manager: @U0RM.",
        ),
        (
            Permission.START_REVIEW,
            "Only the proposer (@U0ALICE), the facilitator (@U0BOB) or a release manager can "
            "start the review of payments@2.5.0 early; it starts by itself after the production deployment.",
        ),
        (
            Permission.CLOSE_REVIEW,
            "Only the facilitator (@U0BOB) or a release manager can close the review of payments@2.5.0.",
        ),
        (
            Permission.ADD_ACTION_ITEM,
            "Only the facilitator (@U0BOB), a release manager or someone who replied in the "
            "review thread may add action items to payments@2.5.0. Reply in the thread first, or ask the facilitator.",
        ),
        (
            Permission.CLOSE_ACTION_ITEM,
            "Only @U0BOB (the owner), whoever added it or a release manager can mark action item #7 done.",
        ),
    ],
)
def test_a_refusal_says_who_may_instead(action: Permission, says: str) -> None:
    refused = refusal(action, SOMEONE)
    assert refused is not None
    assert refused.plain == says


def test_the_proposer_and_scope_authors_hear_why_they_of_all_people_may_not() -> None:
    rejecting = refusal(Permission.REJECT, PROPOSER)
    assert rejecting is not None
    assert (
        rejecting.plain
        == "You proposed payments@2.5.0; cancel it with `/release cancel payments@2.5.0` instead of rejecting it."
    )
    approving = refusal(Permission.APPROVE, AUTHOR)
    assert approving is not None
    assert approving.plain.startswith("You changed the scope of payments@2.5.0 since it was proposed")
    # A scope author may not approve, so may not reject either, unless a release manager: they always may reject.
    rejected = refusal(Permission.REJECT, AUTHOR)
    assert rejected is not None
    assert rejected.plain.startswith("You may not reject payments@2.5.0; only approvers of prod")
    prod = TABLE_POLICY.environments[0]
    permissions.check(
        TABLE_POLICY,
        None,
        Permission.REJECT,
        user_id=MANAGER,
        members={},
        ref="payments@2.5.0",
        proposer_id=PROPOSER,
        scope_authors=(PROPOSER, MANAGER),
        environments=[prod],
    )


def test_one_person_in_two_parts_is_named_once() -> None:
    def said(action: Permission, parties: dict[Who, str | None]) -> str:
        with pytest.raises(Refused) as caught:
            permissions.check(
                TABLE_POLICY, None, action, user_id=SOMEONE, members={}, ref="7", proposer_id=PROPOSER, parties=parties
            )
        return caught.value.plain

    assert said(Permission.START_REVIEW, {Who.FACILITATOR: PROPOSER}).startswith(
        "Only the proposer (@U0ALICE) or a release manager can start the review of 7 early"
    )
    assert said(Permission.CLOSE_ACTION_ITEM, {Who.ITEM_OWNER: LISTED, Who.ITEM_AUTHOR: LISTED}) == (
        "Only @U0BOB (the owner) or a release manager can mark action item #7 done."
    )
    assert permissions.rule(None, Permission.CLOSE_ACTION_ITEM).may == (
        Who.ITEM_OWNER,
        Who.ITEM_AUTHOR,
        Who.RELEASE_MANAGERS,
    )
    permissions.check(  # whoever added it may mark it done too
        TABLE_POLICY,
        None,
        Permission.CLOSE_ACTION_ITEM,
        user_id="U0ADDER",
        members={},
        ref="7",
        parties={Who.ITEM_OWNER: LISTED, Who.ITEM_AUTHOR: "U0ADDER"},
    )
