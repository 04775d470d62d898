"""`shipmate policy explain`: every rule, from the same declarations `check` enforces; per environment where the
policy names the people per environment, the others once."""

from bot.domain.permissions import PER_ENVIRONMENT, Permission
from bot.domain.policy import Policy, Review
from bot.domain.policy_explain import explain
from tests.domain import test_permissions as permissions_test

# Staging falls back to its approvers for deploying, prod has deployers, hotfix lets the proposer deploy.
POLICY = permissions_test.POLICY.model_copy(update={"review": Review(facilitator="U0FAY")})


def test_built_in_defaults_explained() -> None:
    explained = explain(Policy())
    assert "release managers: none" in explained
    assert "prod: 1 approval\n" in explained
    assert "  deploy:    anyone, but never the release's proposer\n" in explained
    assert (
        "  approve:   anyone, but never the release's proposer or anyone who changed its scope since it was proposed\n"
        in explained
    )
    assert "qa: no approvals; a passed regression sign-off before the next environment" in explained
    assert explained.count("sign off:  anyone, but never the release's proposer") == 3
    # Without release managers, what only they may do, nobody may; the facilitator is the proposer.
    assert "  freeze:                   nobody\n" in explained
    assert "  edit:                     the release's proposer\n" in explained
    assert "  start a review:           the release's proposer\n" in explained
    assert "  close a review:           the review's facilitator (the release's proposer)\n" in explained


def test_every_rule_is_explained_per_environment_or_once() -> None:
    explained = explain(POLICY)
    for action in Permission:
        lines = [line for line in explained.splitlines() if line.startswith(f"  {action.value}:")]
        assert len(lines) == (len(POLICY.environments) if action in PER_ENVIRONMENT else 1), action
    head, everywhere = explained.split("\neverywhere:\n")
    assert "  reject: " not in head
    assert everywhere.splitlines()[0] == (
        "  reject:                   whoever may approve it for an environment that needs approvals, or release "
        "managers; never the release's proposer"
    )


def test_the_environment_and_the_policy_say_who() -> None:
    explained = explain(POLICY)
    staging = explained[explained.index("staging:") : explained.index("prod:")]
    assert "  deploy:    approvers U0BOB (no deployers set), or release managers; never the release's proposer\n" in (
        staging
    )
    prod = explained[explained.index("prod:") : explained.index("hotfix:")]
    assert "  deploy:    deployers U0DAVE, S0ONCALL, or release managers; never the release's proposer\n" in prod
    hotfix = explained[explained.index("hotfix:") : explained.index("everywhere:")]
    assert "  deploy:    deployers U0DAVE, or release managers\n" in hotfix  # proposer_may_deploy
    assert "  close a review:           the review's facilitator (U0FAY), or release managers\n" in explained
    assert (
        "  start a review:           the release's proposer, the review's facilitator (U0FAY), or release managers\n"
        in explained
    )
    assert "  mark an action item done: the item's owner, whoever added it, or release managers\n" in explained
