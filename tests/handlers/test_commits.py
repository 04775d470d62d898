"""A release is its commit: given with `--commit` (or the modal's Commit field), resolved from the release's tag on
GitHub in the background (rate limits and all), or set once by a person, which restarts the approvals; shown on
the card and in the history; and a release without one says plainly that it cannot be checked by commit."""

import time

import pytest

from bot.ids import BlockId, CallbackId
from bot.settings import Settings
from storage.db import Database
from storage.repositories import releases as releases_repo
from tests.conftest import make_settings
from tests.fakes.pipeline import FakePipeline, Refusal
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import PROPOSER, thread_lines
from tests.handlers.pipeline_steps import card_shows, gate, gate_body
from tests.harness import Harness, select_input, text_input

SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba9876543210fedcba98"
TAG_OBJECT = "9" * 40


@pytest.fixture
def policy_text() -> str:
    return """
release_managers = ["U0RM"]
timezone = "UTC"

[slack]
coordination_channel = "C0RELEASE"

[[environments]]
name = "staging"

[[environments]]
name = "prod"
approvals = 2
approvers = ["U0BOB", "U0CAROL"]

[services.checkout]
github_repository = "acme/checkout"
"""


@pytest.fixture
def settings(database_url: str, slack: FakeSlack, pipeline: FakePipeline) -> Settings:
    return make_settings(database_url, slack, shipmate_github_api_url=pipeline.url, shipmate_github_token="ghs_t")


async def _commit_of(database_url: str, service: str, version: str) -> str | None:
    db = Database(database_url)
    try:
        async with db.read() as session:
            release = await releases_repo.get(session=session, team_id="T0TEAM", service=service, version=version)
            return release.commit_sha if release else "missing"
    finally:
        await db.dispose()


async def test_a_commit_given_with_the_proposal_is_shown_linked_and_in_the_history(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    answer = await harness.command_answer(
        f"propose checkout 2.0.0 --commit {SHA.upper()} --risk high Faster checkout", user=PROPOSER
    )

    assert "Proposed" in answer
    assert await _commit_of(database_url, "checkout", "2.0.0") == SHA
    # The fake GitHub's address stands in for github.com (the API's web address, as GitHub Enterprise has it).
    await card_shows(harness.slack, f"<{pipeline.url}/acme/checkout/commit/{SHA}|0123456>")
    card = await harness.command_answer("show checkout@2.0.0")
    assert "*Risk*\\nhigh" in card
    history = await harness.command_answer("history checkout@2.0.0")
    assert "commit `0123456`" in history


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("propose payments 1.0.0 --commit abc123 Short sha", "not a full commit id"),
        ("propose payments 1.0.0 --commit Missing summary", "not a full commit id"),
        (f"propose payments 1.0.0 --commit {SHA}", "Missing the summary"),
        (f"propose payments 1.0.0 --commit {SHA} --commit {SHA} Twice", "given twice"),
        ("propose payments 1.0.0 --branch main Summary", "not an option here"),
        ("propose payments 1.0.0 --risk extreme Summary", "not a risk level"),
    ],
)
async def test_a_bad_commit_or_flag_is_refused_with_its_fix_and_nothing_is_stored(
    harness: Harness, database_url: str, text: str, problem: str
) -> None:
    answer = await harness.command_answer(text, user=PROPOSER)

    assert problem in answer, answer
    assert await _commit_of(database_url, "payments", "1.0.0") == "missing"


async def test_a_tag_is_resolved_in_the_background_through_a_rate_limit(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    pipeline.tags["acme/checkout"] = {"v2.0.0": ("tag", TAG_OBJECT, SHA)}  # an annotated tag
    reset = str(int(time.time()) + 1)
    pipeline.read_fail_next.append(
        Refusal(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}, "API rate limit exceeded")
    )

    answer = await harness.command_answer("propose checkout 2.0.0 Faster checkout", user=PROPOSER)

    assert "Proposed" in answer  # answered at once: GitHub is asked afterwards
    [line] = await thread_lines(harness, "recorded (tag v2.0.0 in acme/checkout)")
    assert "0123456" in line.text_everywhere
    assert await _commit_of(database_url, "checkout", "2.0.0") == SHA
    assert pipeline.reads[:2] == ["/repos/acme/checkout/git/ref/tags/v2.0.0"] * 2  # asked again after the limit
    assert f"/repos/acme/checkout/git/tags/{TAG_OBJECT}" in pipeline.reads
    history = await harness.command_answer("history checkout@2.0.0")
    assert "recorded its commit `0123456` (tag v2.0.0 in acme/checkout)" in history


async def test_a_release_without_a_tag_says_how_to_set_its_commit(harness: Harness, pipeline: FakePipeline) -> None:
    pipeline.tags["acme/checkout"] = {"2.0.1": SHA}  # a lightweight tag, without the v: found second

    assert "Proposed" in await harness.command_answer("propose checkout 2.0.1 Fix", user=PROPOSER)
    assert "Proposed" in await harness.command_answer("propose checkout 2.0.2 Fix", user=PROPOSER)

    await thread_lines(harness, "recorded (tag 2.0.1 in acme/checkout)")
    [missing] = await thread_lines(harness, "has no tag")
    assert "`v2.0.2` or `2.0.2`" in missing.text_everywhere
    assert "/release edit checkout@2.0.2 commit &lt;sha&gt;" in missing.text_everywhere


async def test_a_person_sets_an_unknown_commit_once_and_approvals_start_over(
    harness: Harness, database_url: str
) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 1.0.0 Ledger", user=PROPOSER)
    assert "You approved" in await harness.command_answer("approve payments@1.0.0", user="U0BOB")

    edited = await harness.command_answer(f"edit payments@1.0.0 commit {SHA}", user=PROPOSER)
    again = await harness.command_answer(f"edit payments@1.0.0 commit {SHA}", user=PROPOSER)
    other = await harness.command_answer(f"edit payments@1.0.0 commit {OTHER}", user="U0RM")

    assert "approvals start over" in edited
    assert "Updated" in again
    assert "payments@1.0.0 is commit `0123456`, but the edit named `fedcba9`" in other
    assert "propose a new version" in other
    assert await _commit_of(database_url, "payments", "1.0.0") == SHA
    assert "0/2" in await harness.command_answer("show payments@1.0.0")
    reproposed = await harness.command_answer(f"propose payments 1.0.0 --commit {OTHER} Other code", user=PROPOSER)
    assert "already exists" in reproposed


async def test_a_gate_check_on_a_release_without_a_commit_says_it_cannot_be_checked(harness: Harness) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 1.0.0 Ledger", user=PROPOSER)

    answer = await gate(harness, gate_body("payments@1.0.0", "staging", commit=SHA))

    assert answer.status == 200, answer.text
    assert answer.json["commit_checked"] is False
    assert "has no recorded commit, so Shipmate cannot check which code this is" in answer.json["note"]


async def test_the_modal_takes_a_commit_and_shows_a_bad_one_under_its_field(
    harness: Harness, database_url: str
) -> None:
    values = {
        BlockId.SERVICE: text_input("payments"),
        BlockId.VERSION: text_input("3.1.0"),
        BlockId.SUMMARY: text_input("Ledger"),
        BlockId.RISK: select_input("low"),
        BlockId.COMMIT: text_input("not-a-sha"),
    }
    refused = await harness.submit_view(CallbackId.PROPOSE, {str(k): v for k, v in values.items()}, user=PROPOSER)
    values[BlockId.COMMIT] = text_input(SHA)
    accepted = await harness.submit_view(CallbackId.PROPOSE, {str(k): v for k, v in values.items()}, user=PROPOSER)

    assert refused.json["response_action"] == "errors"
    assert "not a full commit id" in refused.json["errors"][BlockId.COMMIT]
    assert accepted.status == 200
    assert await _commit_of(database_url, "payments", "3.1.0") == SHA
