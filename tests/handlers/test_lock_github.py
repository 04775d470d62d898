"""GitHub's deployment protection rule meets a deploy lock: rejected at once while someone else holds it, naming
the gate (never the reason people typed), and approved once the lock is lifted."""

import pytest

from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import FakeSlack
from tests.handlers import test_github_hooks as hooks
from tests.handlers.pipeline_steps import GITHUB_SECRET, audited, github
from tests.harness import Harness


@pytest.fixture
def policy_text() -> str:
    return hooks.POLICY


@pytest.fixture
def settings(database_url: str, slack: FakeSlack, pipeline: FakePipeline) -> Settings:
    return make_settings(
        database_url,
        slack,
        shipmate_github_webhook_secret=GITHUB_SECRET,
        shipmate_github_token="ghs_test_token",
        shipmate_github_api_url=pipeline.url,
        shipmate_github_team_id="T0TEAM",
    )


async def test_protection_rule_is_rejected_while_locked_and_approved_after_the_unlock(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    await hooks._staged(harness)
    for approver in ("U0BOB", "U0CAROL"):
        assert "You approved" in await harness.command_answer(f"approve {hooks.REF}", user=approver)
    assert "You locked" in await harness.command_answer("lock hello-world prod secret <reason>", user="U0BOB")

    answer = await github(harness, "deployment_protection_rule", hooks._protection_rule(pipeline))

    assert answer.json["status"] == "rejected", answer.text
    [review] = await pipeline.wait_for(lambda r: r.path == hooks.RUN)
    assert review.json["state"] == "rejected"
    assert "hello-world prod is locked" in review.json["comment"]
    assert "secret" not in review.json["comment"]  # what people typed stays in Slack
    [check] = await audited(database_url, hooks.REF, "gate_checked")
    assert "locked by @U0BOB" in check.details["reasons"][0]["message"]

    assert "You lifted" in await harness.command_answer("unlock hello-world prod", user="U0BOB")
    payload = hooks._protection_rule(pipeline)
    deployment = payload["deployment"]
    assert isinstance(deployment, dict)
    deployment["id"] += 1  # GitHub asks again for a new deployment
    again = await github(harness, "deployment_protection_rule", payload)
    assert again.json["status"] == "approved", again.text
