"""One bot token and no SHIPMATE_GITHUB_TEAM_ID: GitHub's events are for the bot token's workspace (auth.test)."""

import pytest

from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import TEAM_ID, FakeSlack, Fault
from tests.handlers.pipeline_steps import GITHUB_SECRET, example, github
from tests.harness import Harness
from tests.workspaces.support import stored

SHA = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
POLICY = """
release_managers = ["U0RM"]
[slack]
coordination_channel = "C0RELEASE"
[[environments]]
name = "staging"
github_environment = "production"
[[environments]]
name = "prod"
[services.hello-world]
github_repository = "Codertocat/Hello-World"
"""


@pytest.fixture
def policy_text() -> str:
    return POLICY


@pytest.fixture
def settings(database_url: str, slack: FakeSlack, pipeline: FakePipeline) -> Settings:
    return make_settings(database_url, slack, shipmate_github_webhook_secret=GITHUB_SECRET)


async def test_events_are_for_the_bot_tokens_workspace(harness: Harness, database_url: str) -> None:
    await harness.command_answer(f"propose hello-world 1.0.0 --commit {SHA} Hello", user="U0ALICE")
    answer = await github(harness, "deployment_status", example("deployment_status"))
    assert answer.status == 200, answer.text
    assert await stored(database_url, "SELECT team_id FROM deployments") == [(TEAM_ID,)]


async def test_slack_not_answering_who_we_are_is_a_retry_later(harness: Harness, slack: FakeSlack) -> None:
    slack.fail("auth.test", Fault(status=500, times=5))
    answer = await github(harness, "deployment_status", example("deployment_status"))
    assert answer.status == 503
    assert "slack_unavailable" in answer.text, answer.text
