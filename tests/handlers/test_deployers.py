"""Deployments that Shipmate starts: the Deploy button and `/release deploy` request the deployment from the
service's deployer (a signed webhook, or GitHub `workflow_dispatch`) exactly once, the release shows it deploying
until CI reports, and a request nobody reports on times out and the requester is told."""

import time

import pytest

from bot import signing
from bot.domain.policy import Policy
from bot.ids import ActionId
from bot.settings import Settings
from tests.conftest import POLICY, make_settings
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import (
    PROD_DEPLOYER,
    PROPOSER,
    hook_body,
    live_version,
    post_hook,
    propose_and_approve,
)
from tests.handlers.pipeline_steps import WEBHOOK_SECRET, card_shows, requests_of
from tests.harness import Harness

REF = "payments@2.5.0"


@pytest.fixture
def policy_text(pipeline: FakePipeline) -> str:
    return (
        POLICY
        + f"""
[services.payments]
deploy = {{ webhook = "{pipeline.ci_url}" }}

[services.checkout]
deploy = {{ github_workflow = "acme/checkout/.github/workflows/deploy.yml", ref = "main" }}
deploy_timeout = "2s"
"""
    )


@pytest.fixture
def settings(database_url: str, slack: FakeSlack, pipeline: FakePipeline) -> Settings:
    return make_settings(
        database_url, slack, shipmate_github_token="ghs_test_token", shipmate_github_api_url=pipeline.url
    )


def _deploy_button(slack: FakeSlack, ref: str) -> str:
    for call in reversed(slack.calls):
        if call.method in ("chat.postMessage", "chat.update") and ref in call.text_everywhere:
            for block in call.get("blocks") or []:
                for element in block.get("elements", []):
                    if element.get("action_id") == ActionId.DEPLOY_NEXT:
                        return str(element["value"])
    raise AssertionError(f"no Deploy button on {ref}'s card")


async def test_deploy_click_sends_one_signed_request_and_shows_deploying_until_ci_reports(
    harness: Harness, pipeline: FakePipeline, database_url: str, policy: Policy
) -> None:
    await propose_and_approve(harness, REF)
    await card_shows(harness.slack, "Deploy to dev")
    value = _deploy_button(harness.slack, REF)

    reply = await harness.click_answer(ActionId.DEPLOY_NEXT, value, user=PROPOSER)
    again = await harness.click_answer(ActionId.DEPLOY_NEXT, value, user=PROPOSER)  # a double click

    assert "Requested: CI will deploy *payments@2.5.0* to *dev*" in reply["text"]
    assert "already being deployed in dev" in again["text"]
    sent = await pipeline.wait_for(lambda r: r.path == "/hooks/shipmate")
    await pipeline.settle()
    assert len(pipeline.received) == 1
    signing.verify(WEBHOOK_SECRET, sent[0].body, sent[0].headers, now=time.time())  # raises when not signed
    body = sent[0].json
    [request] = await requests_of(database_url)
    assert body == {
        "action": "deploy",
        "service": "payments",
        "version": "2.5.0",
        "commit": None,
        "environment": "dev",
        "release_url": body["release_url"],
        "requested_by": PROPOSER,
        "request_id": request.request_id,
    }
    assert body["release_url"].startswith("https://slack.com/")
    await card_shows(harness.slack, "Deploying to *dev*")
    assert "deploying to dev" in await harness.command_answer("status payments")
    assert await live_version(database_url, "payments", "dev") is None

    report = await post_hook(harness, hook_body(request_id=request.request_id, delivery_id="run-1"))

    assert report.status == 201, report.text
    assert await live_version(database_url, "payments", "dev") == "2.5.0"
    [closed] = await requests_of(database_url)
    assert closed.status == "succeeded"
    assert closed.deployment_id == report.json["deployment_id"]
    await card_shows(harness.slack, "✅ dev", absent="Deploying to")
    assert "deploying to" not in await harness.command_answer("status payments")
    again_report = await post_hook(harness, hook_body(request_id=request.request_id, delivery_id="run-1"))
    assert again_report.status == 201, "a redelivery gets the first answer again"
    assert again_report.json == report.json
    [still] = await requests_of(database_url)
    assert still.deployment_id == closed.deployment_id


async def test_the_gates_still_come_first(harness: Harness, pipeline: FakePipeline, database_url: str) -> None:
    await propose_and_approve(harness, REF)
    refused = await harness.command_answer(f"deploy {REF} prod", user=PROD_DEPLOYER)
    assert "cannot be deployed to prod yet" in refused
    await pipeline.settle(0.3)
    assert pipeline.received == []
    assert await requests_of(database_url) == []


async def test_github_workflow_dispatch_with_the_right_inputs(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    await propose_and_approve(harness, "checkout@1.2.0")

    answer = await harness.command_answer("deploy checkout@1.2.0 dev", user=PROPOSER)

    assert "the GitHub workflow `deploy.yml`" in answer
    [dispatch] = await pipeline.wait_for(lambda r: r.path.endswith("/dispatches"))
    assert dispatch.path == "/repos/acme/checkout/actions/workflows/deploy.yml/dispatches"
    assert dispatch.headers["Authorization"] == "Bearer ghs_test_token"
    assert dispatch.headers["Accept"] == "application/vnd.github+json"
    [request] = await requests_of(database_url)
    assert dispatch.json == {
        "ref": "main",
        "inputs": {"version": "1.2.0", "environment": "dev", "shipmate_request_id": request.request_id},
    }


async def test_no_report_within_deploy_timeout_times_out_and_tells_the_requester(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    await propose_and_approve(harness, "checkout@1.2.0")
    assert "Requested" in await harness.command_answer("deploy checkout@1.2.0 dev", user=PROPOSER)

    dm = await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == PROPOSER, timeout=15)

    assert "heard nothing from CI within 2s" in dm[0].text_everywhere
    [request] = await requests_of(database_url)
    assert request.status == "timed_out"
    await harness.slack.wait_for("chat.postMessage", lambda c: "marked *timed out*" in c.text_everywhere)
    late = await post_hook(
        harness, hook_body(service="checkout", version="1.2.0", request_id=request.request_id, delivery_id="late")
    )
    assert late.status == 201, late.text  # it did deploy after all: the late report is recorded
    assert await live_version(database_url, "checkout", "dev") == "1.2.0"


async def test_who_may_deploy_binds_requested_deployments_too(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    """Asking the deployer is deploying: someone outside prod's deployers (its approvers, as it lists none) asks
    CI for nothing, neither a deployment nor a rollback, whatever the gates would say."""
    await propose_and_approve(harness, REF)
    rule = "Only approvers of prod (<@U0BOB>, <@U0CAROL>, <@U0DAVE>, <!subteam^S0RELMGR>) or release managers"
    assert rule in await harness.command_answer(f"deploy {REF} prod", user="U0ZED")
    assert rule in await harness.command_answer("rollback payments prod it broke", user="U0ZED")
    await pipeline.settle(0.3)
    assert pipeline.received == []
    assert await requests_of(database_url) == []
