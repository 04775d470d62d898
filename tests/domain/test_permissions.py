"""Every rule a person can be refused by: who may approve, deploy, roll back and sign off per environment, and who
may do the rest (reject, withdraw, edit, freeze, reviews, action items), as the services enforce them and
`shipmate policy explain` prints them."""

import pytest

from bot.domain import permissions
from bot.domain.errors import NotAllowed
from bot.domain.permissions import Permission, Refused
from bot.domain.policy import Members, parse_policy
from bot.slack_text import mrkdwn

POLICY = parse_policy(
    """
release_managers = ["U0RM", "S0RELMGR"]

[[environments]]
name = "dev"

[[environments]]
name = "qa"
regression_required = true
verifiers = ["S0QA"]

[[environments]]
name = "staging"
approvals = 1
approvers = ["U0BOB"]

[[environments]]
name = "prod"
approvals = 2
approvers = ["U0BOB", "U0CAROL"]
deployers = ["U0DAVE", "S0ONCALL"]

[[environments]]
name = "hotfix"
approvals = 1
approvers = ["U0BOB"]
deployers = ["U0DAVE"]
proposer_may_deploy = true
"""
)
MEMBERS: Members = {
    "S0RELMGR": frozenset({"U0RMGROUP"}),
    "S0QA": frozenset({"U0QA"}),
    "S0ONCALL": frozenset({"U0ONCALL"}),
}
PROPOSER = "U0ALICE"


def allowed(
    env: str, action: Permission, user: str, *, proposer: str = PROPOSER, scope_authors: tuple[str, ...] = ()
) -> bool:
    environment = POLICY.environment(env)
    assert environment is not None
    try:
        permissions.check(
            POLICY,
            environment,
            action,
            user_id=user,
            members=MEMBERS,
            ref="payments@2.5.0",
            proposer_id=proposer,
            scope_authors=scope_authors,
        )
    except NotAllowed:
        return False
    return True


@pytest.mark.parametrize(
    ("env", "action", "user", "expected"),
    [
        # No approvals needed: anyone deploys and rolls back, the proposer included.
        ("dev", Permission.DEPLOY, "U0ZED", True),
        ("dev", Permission.DEPLOY, PROPOSER, True),
        ("dev", Permission.ROLL_BACK, "U0ZED", True),
        # Sign-off: the verifiers (through their group), never the proposer; release managers are not verifiers.
        ("qa", Permission.SIGN_OFF, "U0QA", True),
        ("qa", Permission.SIGN_OFF, "U0ZED", False),
        ("qa", Permission.SIGN_OFF, "U0RM", False),
        ("dev", Permission.SIGN_OFF, "U0ZED", True),
        ("dev", Permission.SIGN_OFF, PROPOSER, False),
        # Approvals needed, no deployers: the approvers and release managers deploy, not the proposer.
        ("staging", Permission.DEPLOY, "U0BOB", True),
        ("staging", Permission.DEPLOY, "U0RM", True),
        ("staging", Permission.DEPLOY, "U0ZED", False),
        ("staging", Permission.ROLL_BACK, "U0ZED", False),
        # Deployers: listed people and group members, release managers (also through a group), nobody else.
        ("prod", Permission.DEPLOY, "U0DAVE", True),
        ("prod", Permission.DEPLOY, "U0ONCALL", True),
        ("prod", Permission.DEPLOY, "U0RMGROUP", True),
        ("prod", Permission.DEPLOY, "U0BOB", False),  # an approver, but prod names its deployers
        ("prod", Permission.ROLL_BACK, "U0ONCALL", True),
        ("prod", Permission.ROLL_BACK, "U0BOB", False),
        # Approving: approvers and release managers.
        ("prod", Permission.APPROVE, "U0CAROL", True),
        ("prod", Permission.APPROVE, "U0RM", True),
        ("prod", Permission.APPROVE, "U0DAVE", False),
    ],
)
def test_who_may(env: str, action: Permission, user: str, expected: bool) -> None:
    assert allowed(env, action, user) is expected


def test_the_proposer_deploys_their_own_release_only_where_no_approvals_are_needed() -> None:
    assert allowed("dev", Permission.DEPLOY, "U0DAVE", proposer="U0DAVE")
    assert not allowed("prod", Permission.DEPLOY, "U0DAVE", proposer="U0DAVE")  # a deployer, but the proposer
    assert not allowed("prod", Permission.DEPLOY, "U0RM", proposer="U0RM")  # binds release managers too
    assert allowed("hotfix", Permission.DEPLOY, "U0DAVE", proposer="U0DAVE")  # proposer_may_deploy = true
    assert not allowed("hotfix", Permission.DEPLOY, "U0ZED", proposer="U0ZED")  # still only its deployers
    assert allowed("prod", Permission.ROLL_BACK, "U0DAVE", proposer="U0DAVE")  # rolling back is not checking oneself


def test_everyone_who_changed_the_scope_since_it_was_proposed_may_not_approve_it() -> None:
    authors = (PROPOSER, "U0RM", "U0BOB")  # the release manager edited first, then bob
    assert not allowed("prod", Permission.APPROVE, "U0RM", scope_authors=authors)  # not only the last one
    assert not allowed("prod", Permission.APPROVE, "U0BOB", scope_authors=authors)
    assert allowed("prod", Permission.APPROVE, "U0CAROL", scope_authors=authors)
    assert allowed("prod", Permission.APPROVE, "U0RM", scope_authors=(PROPOSER,))
    assert allowed("prod", Permission.DEPLOY, "U0RM", scope_authors=authors)  # it binds approving only
    assert allowed("qa", Permission.SIGN_OFF, "U0QA", scope_authors=("U0QA",))


def test_the_scope_refusal_names_what_was_changed_and_who_may_approve() -> None:
    prod = POLICY.environment("prod")
    assert prod is not None

    def refusal(changed: tuple[str, ...]) -> str:
        with pytest.raises(NotAllowed) as caught:
            permissions.check(
                POLICY,
                prod,
                Permission.APPROVE,
                user_id="U0BOB",
                members=MEMBERS,
                ref="payments@2.5.0",
                proposer_id=PROPOSER,
                scope_authors=(PROPOSER, "U0BOB"),
                changed=changed,
            )
        return caught.value.plain

    assert refusal(("summary",)) == (
        "You changed the scope of payments@2.5.0 (its summary) since it was proposed, so you may not approve it "
        "(separation of duties); ask another approver: approvers of prod (@U0BOB, @U0CAROL) or release managers "
        "(@U0RM, @S0RELMGR)."
    )
    assert "(its summary, risk and planned window) since" in refusal(("summary", "risk", "planned window"))
    assert "payments@2.5.0 since it was proposed" in refusal(())  # what they changed is not always known


def test_a_refusal_names_the_rule_and_who_may_act() -> None:
    prod = POLICY.environment("prod")
    assert prod is not None
    with pytest.raises(NotAllowed) as caught:
        permissions.check(POLICY, prod, Permission.ROLL_BACK, user_id="U0BOB", members=MEMBERS)
    assert mrkdwn(caught.value.text) == (
        "Only deployers of prod (<@U0DAVE>, <!subteam^S0ONCALL>) or release managers (<@U0RM>, <!subteam^S0RELMGR>) "
        "may roll back prod."
    )
    assert caught.value.plain.startswith("Only deployers of prod (@U0DAVE, @S0ONCALL)")
    with pytest.raises(NotAllowed) as own:
        permissions.check(
            POLICY,
            prod,
            Permission.DEPLOY,
            user_id="U0DAVE",
            members=MEMBERS,
            ref="payments@2.5.0",
            proposer_id="U0DAVE",
        )
    assert own.value.plain.startswith("You proposed payments@2.5.0, so someone else must deploy it to prod")


def test_without_release_managers_refusals_do_not_offer_them() -> None:
    policy = parse_policy('[[environments]]\nname = "prod"\napprovals = 1\napprovers = ["U0BOB"]')
    env = policy.environments[0]
    with pytest.raises(NotAllowed) as caught:
        permissions.check(policy, env, Permission.DEPLOY, user_id="U0ZED", members={})
    assert caught.value.plain == "Only approvers of prod (@U0BOB) may deploy to prod."


def test_deployer_groups_are_resolved_with_the_others() -> None:
    assert {"S0ONCALL", "S0QA", "S0RELMGR"} <= POLICY.group_ids


def test_release_managers_through_a_user_group_and_none_at_all() -> None:
    permissions.check(POLICY, None, Permission.FREEZE, user_id="U0RMGROUP", members=MEMBERS)
    nobody = parse_policy('[[environments]]\nname = "prod"')
    with pytest.raises(Refused) as caught:
        permissions.check(nobody, None, Permission.UNFREEZE, user_id="U0RM", members={})
    assert caught.value.plain == "Only release managers can lift a freeze. No release managers are set in the policy."
    with pytest.raises(Refused) as rejecting:  # no environment needs approvals: only release managers may reject
        permissions.check(
            nobody, None, Permission.REJECT, user_id="U0BOB", members={}, ref="payments@2.5.0", proposer_id=PROPOSER
        )
    assert rejecting.value.plain == "You may not reject payments@2.5.0; only a release manager may."


def test_the_per_environment_rules_need_their_environment() -> None:
    with pytest.raises(ValueError, match="depends on the environment"):
        permissions.rule(None, Permission.DEPLOY)
