"""`POST /hooks/deployments` cannot be replayed: a stale signature is refused, every delivery id keeps its first
answer (a repeat gets it again and is not processed, even once the gates would pass), and only the installation's
workspace may report deployments. Each refused case records nothing."""

import time

import pytest

from bot.domain.policy import Policy
from tests.fakes.slack_api import Fault
from tests.handlers.deploy_steps import (
    PROPOSER,
    deployments_of,
    hook_body,
    live_version,
    post_hook,
    propose_and_approve,
    raw,
    sign,
    thread_lines,
)
from tests.harness import Harness

REPLAYED = "X-Shipmate-Replayed"


@pytest.mark.parametrize("skew", [-301, -3600, 301, 3600], ids=["5min-old", "1h-old", "5min-ahead", "1h-ahead"])
async def test_a_stale_or_future_delivery_is_401_and_leaves_no_trace(
    harness: Harness, database_url: str, policy: Policy, skew: int
) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    answer = await post_hook(harness, hook_body(), at=time.time() + skew)

    assert answer.status == 401
    assert answer.json["error"] == "bad_signature"
    assert await deployments_of(database_url, policy, "payments@2.5.0") == []
    # Not remembered either: the same delivery, signed now, is processed.
    assert (await post_hook(harness, hook_body())).status == 201


async def test_a_delivery_signed_four_minutes_ago_is_taken(harness: Harness) -> None:
    """The control for the test above."""
    await propose_and_approve(harness, "payments@2.5.0")
    assert (await post_hook(harness, hook_body(), at=time.time() - 240)).status == 201


async def test_a_replayed_delivery_gets_the_first_answer_and_changes_nothing(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    captured = sign(raw(hook_body()))

    first = await post_hook(harness, hook_body(), headers=captured)
    replayed = await post_hook(harness, hook_body(), headers=captured)  # the same bytes, sent again
    resigned = await post_hook(harness, hook_body())  # CI's own retry, signed afresh

    assert first.status == 201, first.text
    assert REPLAYED not in first.headers
    for again in (replayed, resigned):
        assert (again.status, again.text) == (first.status, first.text)
        assert again.headers[REPLAYED] == "true"
    assert len(await deployments_of(database_url, policy, "payments@2.5.0")) == 1
    await thread_lines(harness, "🤖 CI deployed *payments@2.5.0* to *dev*")
    await harness.slack.settle()
    assert len([c for c in harness.slack.posts() if "🤖 CI deployed" in c.text_everywhere]) == 1
    assert (await harness.command_answer("history payments@2.5.0")).count("deployed it to dev") == 1


async def test_a_delivery_refused_once_stays_refused(harness: Harness, database_url: str, policy: Policy) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    captured = sign(raw(hook_body(environment="prod", delivery_id="run-7-prod")))
    refused = await post_hook(harness, hook_body(environment="prod", delivery_id="run-7-prod"), headers=captured)
    assert refused.status == 409
    assert refused.json["error"] == "refused_by_gates"

    # The gates would pass now...
    for env in ("dev", "qa"):
        assert f"is live in *{env}*" in await harness.command_answer(f"deploy payments@2.5.0 {env}", user=PROPOSER)
    assert "*passed*" in await harness.command_answer("verify payments@2.5.0 qa passed", user="U0QA")

    # ...but the refused delivery, replayed or signed again, gets its first answer and records nothing.
    replayed = await post_hook(harness, hook_body(environment="prod", delivery_id="run-7-prod"), headers=captured)
    resigned = await post_hook(harness, hook_body(environment="prod", delivery_id="run-7-prod"))
    for again in (replayed, resigned):
        assert (again.status, again.text) == (refused.status, refused.text)
        assert again.headers[REPLAYED] == "true"
    assert await live_version(database_url, "payments", "prod") is None
    assert [d.environment for d in await deployments_of(database_url, policy, "payments@2.5.0")] == ["dev", "qa"]

    # A new delivery is a new question.
    assert (await post_hook(harness, hook_body(environment="prod", delivery_id="run-8-prod"))).status == 201
    assert await live_version(database_url, "payments", "prod") == "2.5.0"


async def test_an_unknown_release_stays_unknown_to_that_delivery(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    first = await post_hook(harness, hook_body())
    assert first.status == 404
    await propose_and_approve(harness, "payments@2.5.0")

    again = await post_hook(harness, hook_body())
    assert (again.status, again.text, again.headers[REPLAYED]) == (404, first.text, "true")
    assert await deployments_of(database_url, policy, "payments@2.5.0") == []


async def test_a_delivery_id_reused_for_another_body_is_refused(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    assert (await post_hook(harness, hook_body())).status == 201

    reused = await post_hook(harness, hook_body(environment="qa"))  # same delivery_id "run-42-dev"

    assert reused.status == 409
    assert reused.json["error"] == "delivery_id_reused"
    assert [d.environment for d in await deployments_of(database_url, policy, "payments@2.5.0")] == ["dev"]


async def test_another_workspace_is_403_and_leaves_no_trace(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    await propose_and_approve(harness, "payments@2.5.0")

    foreign = await post_hook(harness, hook_body(team_id="T0OTHER"))

    assert foreign.status == 403
    assert foreign.json["error"] == "team_mismatch"
    assert await deployments_of(database_url, policy, "payments@2.5.0") == []
    asked = len(harness.slack.of("auth.test"))
    assert (await post_hook(harness, hook_body())).status == 201  # the same delivery id, ours: not remembered
    assert (await post_hook(harness, hook_body(team_id="T0OTHER", delivery_id="run-43"))).status == 403
    assert len(harness.slack.of("auth.test")) == asked  # the installation's team is asked once


async def test_slack_unable_to_confirm_the_workspace_is_503_and_retryable(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    harness.slack.fail("auth.test", Fault(status=500, times=2))  # the client retries a 5xx once

    unavailable = await post_hook(harness, hook_body())

    assert unavailable.status == 503
    assert unavailable.json["error"] == "slack_unavailable"
    assert await deployments_of(database_url, policy, "payments@2.5.0") == []
    assert (await post_hook(harness, hook_body())).status == 201
