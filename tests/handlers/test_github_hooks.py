"""`POST /hooks/github` with GitHub's own example payloads: signatures, pings, `deployment_status` recorded once
per delivery, and `deployment_protection_rule` answered on GitHub's callback: rejected during a freeze, approved
as soon as the missing approval is given."""

import asyncio

import pytest

from bot.domain.policy import Policy
from bot.logs import ContextFilter
from bot.services.pipeline import github_events
from bot.services.pipeline.github_events import Handled
from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import PROPOSER, deployments_of
from tests.handlers.pipeline_steps import GITHUB_SECRET, audited, example, github
from tests.harness import Harness

REF = "hello-world@1.0.0"
SHA = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"  # the commit of GitHub's example deployment
RUN = "/repos/Codertocat/Hello-World/actions/runs/1/deployment_protection_rule"

# The examples deploy Codertocat/Hello-World to "production" (deployment_status) and ask the custom rule of
# "my-environment" (deployment_protection_rule).
POLICY = """
release_managers = ["U0RM"]
timezone = "UTC"

[slack]
coordination_channel = "C0RELEASE"
stakeholder_channel = "C0STAKE"

[[environments]]
name = "staging"
github_environment = "production"

[[environments]]
name = "prod"
approvals = 2
approvers = ["U0BOB", "U0CAROL"]
github_environment = "my-environment"

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


async def _proposed_with_commit(harness: Harness) -> None:
    """Proposed as the commit GitHub's example deploys (GitHub finds releases by sha)."""
    answer = await harness.command_answer(f"propose hello-world 1.0.0 --commit {SHA} Hello again", user=PROPOSER)
    assert "Proposed" in answer


def _protection_rule(pipeline: FakePipeline) -> dict[str, object]:
    payload = example("deployment_protection_rule")
    payload["deployment_callback_url"] = pipeline.url + RUN  # GitHub points it at its own API
    return payload


async def test_ping_is_answered(harness: Harness) -> None:
    answer = await github(harness, "ping", example("ping"))
    assert answer.status == 200
    assert answer.json["status"] == "pong"


async def test_deployment_status_example_is_recorded_once_when_delivered_twice(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    await _proposed_with_commit(harness)
    payload = example("deployment_status")

    first = await github(harness, "deployment_status", payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    second = await github(harness, "deployment_status", payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    replayed = await github(harness, "deployment_status", payload)  # the same signed body, a fresh delivery id

    assert first.status == 200, first.text
    assert first.json["status"] == "recorded"
    assert second.json["status"] == "duplicate"
    assert replayed.json["status"] == "duplicate"
    recorded = await deployments_of(database_url, policy, REF)
    assert [(d.environment, d.actor_id, d.outcome, d.ci_url) for d in recorded] == [
        ("staging", "ci", "succeeded", None)
    ]
    assert recorded[0].delivery_id == "github:status:209916254"  # the signed deployment_status.id
    assert recorded[0].commit_sha == SHA


async def test_deployment_under_way_shows_deploying_until_its_success(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    await _proposed_with_commit(harness)
    payload = example("deployment_status")
    payload["deployment_status"]["state"] = "in_progress"
    payload["deployment_status"]["log_url"] = "https://github.com/Codertocat/Hello-World/actions/runs/1"

    under_way = await github(harness, "deployment_status", payload)

    assert under_way.json["status"] == "in_progress"
    assert "deploying to staging" in await harness.command_answer("status hello-world")
    payload["deployment_status"]["state"] = "success"
    payload["deployment_status"]["id"] += 1  # each status GitHub sends has its own id
    done = await github(harness, "deployment_status", payload)
    assert done.json["status"] == "recorded"
    assert "deploying to" not in await harness.command_answer("status hello-world")
    [deployment] = await deployments_of(database_url, policy, REF)
    assert deployment.ci_url == "https://github.com/Codertocat/Hello-World/actions/runs/1"


async def test_bad_signature_records_nothing(harness: Harness, database_url: str, policy: Policy) -> None:
    await _proposed_with_commit(harness)
    payload = example("deployment_status")
    for signature in ("", "sha256=" + "0" * 64, "sha1=abc"):
        answer = await github(harness, "deployment_status", payload, delivery="same", signature=signature or "x")
        assert (answer.status, answer.json["error"]) == (401, "bad_signature")
    wrong_secret = await github(harness, "deployment_status", payload, delivery="same", secret="not-it")
    assert (wrong_secret.status, wrong_secret.json["error"]) == (401, "bad_signature")
    assert await deployments_of(database_url, policy, REF) == []
    # The refused delivery left no trace: the same delivery, signed properly, is new.
    assert (await github(harness, "deployment_status", payload, delivery="same")).json["status"] == "recorded"


async def _staged(harness: Harness) -> None:
    await _proposed_with_commit(harness)
    recorded = await github(harness, "deployment_status", example("deployment_status"))
    assert recorded.json["status"] == "recorded", recorded.text


async def test_protection_rule_is_rejected_at_once_during_a_freeze(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    await _staged(harness)
    assert "is frozen" in await harness.command_answer("freeze prod now +2h quarter close", user="U0RM")

    answer = await github(harness, "deployment_protection_rule", _protection_rule(pipeline))

    assert answer.status == 200, answer.text
    assert answer.json["status"] == "rejected"
    [review] = await pipeline.wait_for(lambda r: r.path == RUN)
    assert review.headers["Authorization"] == "Bearer ghs_test_token"
    assert review.json["environment_name"] == "my-environment"
    assert review.json["state"] == "rejected"
    assert "prod is frozen" in review.json["comment"]
    assert "quarter close" not in review.json["comment"]  # what people typed stays in Slack
    checks = await audited(database_url, REF, "gate_checked")
    assert checks[-1].details["source"] == "github"


async def test_protection_rule_waits_and_is_approved_as_soon_as_the_approval_is_given(
    harness: Harness, pipeline: FakePipeline
) -> None:
    await _staged(harness)
    answer = await github(harness, "deployment_protection_rule", _protection_rule(pipeline))
    assert answer.json["status"] == "waiting"
    assert "You approved" in await harness.command_answer(f"approve {REF}", user="U0BOB")
    await asyncio.sleep(1)  # several scheduler sweeps
    assert pipeline.to(RUN) == []  # one approval of two: still waiting

    assert "You approved" in await harness.command_answer(f"approve {REF}", user="U0CAROL")

    [review] = await pipeline.wait_for(lambda r: r.path == RUN, timeout=10)
    assert review.json["state"] == "approved"
    assert review.json["environment_name"] == "my-environment"
    assert "(normal change) passed every gate" in review.json["comment"]  # the class whose rules applied
    await pipeline.settle()
    assert len(pipeline.to(RUN)) == 1


async def test_unknown_repository_or_event_is_acknowledged_and_ignored(harness: Harness) -> None:
    payload = example("deployment_status")
    payload["repository"]["full_name"] = "someone/else"
    assert (await github(harness, "deployment_status", payload)).status == 202
    assert (await github(harness, "push", {"ref": "refs/heads/main"})).status == 202


async def test_a_failure_of_ours_is_500_with_the_id_it_is_logged_under_and_github_may_redeliver(
    harness: Harness,
    database_url: str,
    policy: Policy,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _proposed_with_commit(harness)
    payload = example("deployment_status")
    caplog.handler.addFilter(ContextFilter())  # as `bot.logs.configure` does for the process's handler

    async def broken(*_args: object) -> Handled:
        raise RuntimeError("the disk is on fire")

    with monkeypatch.context() as faults, caplog.at_level("INFO"):
        faults.setattr(github_events, "deployment_status", broken)
        failed = await github(harness, "deployment_status", payload, delivery="first-try")

    assert (failed.status, failed.json["error"]) == (500, "internal_error"), failed.text
    incident = failed.json["error_id"]
    [record] = [r for r in caplog.records if getattr(r, "error_id", None) == incident]
    assert (record.levelname, getattr(record, "team", None)) == ("ERROR", "T0TEAM")
    assert await deployments_of(database_url, policy, REF) == []
    redelivered = await github(harness, "deployment_status", payload, delivery="first-try")
    assert redelivered.json["status"] == "recorded", redelivered.text
