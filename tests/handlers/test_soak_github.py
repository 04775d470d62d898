"""`min_soak` on GitHub's deployment protection rule (GitHub's own example payloads): a deployment to prod asked
for while the version's soak in staging runs waits, and is approved once the soak ends (clock injected)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.domain.policy import Policy
from bot.server import SERVICES, create_app
from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import PROPOSER
from tests.handlers.pipeline_steps import GITHUB_SECRET, example, github
from tests.handlers.test_soak import SOAK, Clock
from tests.harness import Harness
from tests.servers import serve

SHA = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"  # the commit of GitHub's example deployment
RUN = "/repos/Codertocat/Hello-World/actions/runs/1/deployment_protection_rule"

# The examples deploy Codertocat/Hello-World to "production" (deployment_status) and ask the custom rule of
# "my-environment" (deployment_protection_rule).
POLICY = """
release_managers = ["U0RM"]
timezone = "UTC"

[slack]
coordination_channel = "C0RELEASE"

[[environments]]
name = "staging"
github_environment = "production"

[[environments]]
name = "prod"
github_environment = "my-environment"
min_soak = "2h"

[services.hello-world]
github_repository = "Codertocat/Hello-World"
"""


@pytest.fixture
def policy_text() -> str:
    return POLICY


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


@pytest.fixture
async def app(settings: Settings, policy: Policy, slack: FakeSlack) -> AsyncIterator[tuple[Harness, Clock]]:
    application = create_app(settings, policy)
    # two hours ago on the app's clock: the soak that starts now ends when the wall clock (jobs) says "now"
    clock = Clock(datetime.now(UTC).replace(microsecond=0) - SOAK)
    application[SERVICES].now = clock
    async with serve(application, slack) as harness:
        yield harness, clock


async def test_the_protection_rule_waits_for_the_soak_and_is_approved_when_it_ends(
    app: tuple[Harness, Clock], pipeline: FakePipeline
) -> None:
    harness, clock = app
    start = clock.at
    answer = await harness.command_answer(f"propose hello-world 1.0.0 --commit {SHA} Hello again", user=PROPOSER)
    assert "Proposed" in answer
    recorded = await github(harness, "deployment_status", example("deployment_status"))
    assert recorded.json["status"] == "recorded", recorded.text  # live in staging: the soak starts
    rule = example("deployment_protection_rule")
    rule["deployment_callback_url"] = pipeline.url + RUN

    waiting = await github(harness, "deployment_protection_rule", rule)

    assert waiting.json["status"] == "waiting", waiting.text
    assert "staging soak: 2h left" in waiting.json["message"]
    assert pipeline.to(RUN) == []
    clock.at = start + SOAK  # the soak ends
    [review] = await pipeline.wait_for(lambda r: r.path == RUN, timeout=15)
    assert review.json["state"] == "approved", review.json
    await pipeline.settle()
    assert len(pipeline.to(RUN)) == 1
