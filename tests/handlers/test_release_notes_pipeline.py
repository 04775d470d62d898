"""The pipeline hears what it lets through: the gate API's answer and the comment on GitHub's protection rule carry
the release's contents (commits, pull requests, the compare link), computed from GitHub's compare."""

import pytest

from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.github_history import Pull
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import PROPOSER
from tests.handlers.pipeline_steps import GITHUB_SECRET, card_shows, example, gate, gate_body, github
from tests.harness import Harness

REPO = "Codertocat/Hello-World"
SHA = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"  # the commit of GitHub's example deployment
RUN = "/repos/Codertocat/Hello-World/actions/runs/1/deployment_protection_rule"


@pytest.fixture
def policy_text() -> str:
    return """
release_managers = ["U0RM"]
timezone = "UTC"

[slack]
coordination_channel = "C0RELEASE"

[[environments]]
name = "staging"
github_environment = "production"

[[environments]]
name = "prod"
approvals = 1
approvers = ["U0BOB"]
github_environment = "my-environment"

[services.hello-world]
github_repository = "Codertocat/Hello-World"
"""


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


async def _ready_for_prod(harness: Harness, pipeline: FakePipeline) -> str:
    """0.9.0 live in prod; 1.0.0 (GitHub's example commit, one pull request on top) approved and in staging."""
    history = pipeline.history(REPO)
    base = history.commit("Initial import")
    history.merge(Pull(5, "feat: say hello", "octocat"))
    history.commit("fix: punctuation", sha=SHA)
    steps = [
        (f"propose hello-world 0.9.0 --commit {base} Base", PROPOSER, "Proposed"),
        ("approve hello-world@0.9.0", "U0BOB", "You approved"),
        ("deploy hello-world@0.9.0 staging", "U0RM", "is live in"),
        ("deploy hello-world@0.9.0 prod", "U0RM", "is live in"),
        (f"propose hello-world 1.0.0 --commit {SHA} Hello again", PROPOSER, "Proposed"),
        ("approve hello-world@1.0.0", "U0BOB", "You approved"),
        ("deploy hello-world@1.0.0 staging", "U0RM", "is live in"),
    ]
    for text, user, expected in steps:
        answer = await harness.command_answer(text, user=user)
        assert expected in answer, answer
    await card_shows(harness.slack, "What's in it: 3 commits, 1 pull request, 0 tickets")
    return base


async def test_the_gate_api_answers_with_what_the_release_carries(harness: Harness, pipeline: FakePipeline) -> None:
    base = await _ready_for_prod(harness, pipeline)

    answer = await gate(harness, gate_body("hello-world@1.0.0", "prod", commit=SHA))

    assert answer.status == 200, answer.text
    assert answer.json["allowed"] is True
    assert answer.json["contents"] == {
        "summary": "What's in it: 3 commits, 1 pull request, 0 tickets",
        "standing": "ahead",
        "commits": 3,
        "pull_requests": 1,
        "tickets": 0,
        "compare_url": f"{pipeline.url}/{REPO}/compare/{base}...{SHA}",
        "base": base,
    }


async def test_the_protection_rule_comment_says_what_was_let_through(harness: Harness, pipeline: FakePipeline) -> None:
    base = await _ready_for_prod(harness, pipeline)
    payload = example("deployment_protection_rule")
    payload["deployment_callback_url"] = pipeline.url + RUN

    answer = await github(harness, "deployment_protection_rule", payload)

    assert answer.json["status"] == "approved", answer.text
    [review] = await pipeline.wait_for(lambda r: r.path == RUN)
    assert review.json["state"] == "approved"
    assert review.json["comment"] == (
        "Shipmate: hello-world@1.0.0 (normal change) passed every gate for prod. "
        "It carries 3 commit(s) and 1 pull request(s): "
        f"{pipeline.url}/{REPO}/compare/{base}...{SHA}"
    )
