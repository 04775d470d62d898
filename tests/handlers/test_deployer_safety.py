"""What a deployer can do to Shipmate, through the real app and the fake CI: a redirect is not followed (the signed
body stays where it was sent) and the thread says why; the webhook's secret query never reaches the database,
logs or Slack; a deployer's reply (body or reason phrase) is never repeated; a hanging CI delays no Slack message."""

import asyncio
import logging
import time
from collections.abc import Sequence

import pytest
from aiohttp import web
from sqlmodel import col, select

from bot.domain.pipeline import OutboxKind
from bot.settings import Settings
from storage.db import Database
from storage.models import DeploymentRequest, OutboxMessage
from tests.conftest import POLICY, make_settings
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import PROPOSER, propose_and_approve, thread_lines
from tests.handlers.pipeline_steps import card_shows, requests_of
from tests.harness import COORDINATION, Harness

TOKEN = "s3cret-query-token"
REF = "payments@2.5.0"


@pytest.fixture
def policy_text(pipeline: FakePipeline) -> str:
    return POLICY + f'\n[services.payments]\ndeploy = {{ webhook = "{pipeline.ci_url}?token={TOKEN}" }}\n'


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return make_settings(database_url, slack)  # SHIPMATE_PIPELINE_TIMEOUT: the default 5 s


async def outbox_rows(database_url: str, kind: str) -> Sequence[OutboxMessage]:
    db = Database(database_url)
    try:
        async with db.read() as session:
            query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(col(OutboxMessage.id))
            return (await session.exec(query)).all()
    finally:
        await db.dispose()


async def first_attempt(database_url: str) -> OutboxMessage:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = await outbox_rows(database_url, OutboxKind.DEPLOY_WEBHOOK)
        if rows and rows[0].attempts:
            return rows[0]
        await asyncio.sleep(0.05)
    raise AssertionError("the deploy request was never tried")


def everything_said(slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> str:
    """What Slack was sent and what was logged (but the fake CI's own access log, which sees its URL as a real
    CI's does)."""
    logged = [r.getMessage() for r in caplog.records if r.name != "aiohttp.access" or "/hooks/" not in r.getMessage()]
    return "\n".join([call.text_everywhere for call in slack.calls] + logged)


async def test_a_redirect_is_not_followed_and_the_thread_says_where_it_pointed(
    harness: Harness, pipeline: FakePipeline, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    elsewhere = f"{pipeline.url}/elsewhere/deploy?token=stolen-too"
    pipeline.answer_next.append(lambda: web.Response(status=307, headers={"Location": elsewhere}))
    await propose_and_approve(harness, REF)

    assert "Requested" in await harness.command_answer(f"deploy {REF} dev", user=PROPOSER)

    said = (
        f"the deployer answered HTTP 307 (a redirect to {pipeline.url}/elsewhere/deploy); Shipmate does not follow "
        "redirects: point the service's deploy webhook at the final URL"
    )
    [line] = await thread_lines(harness, "could not be delivered to the deployer")
    assert said in line.text_everywhere
    dm = await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == PROPOSER)
    assert said in dm[0].text_everywhere
    await pipeline.settle(0.5)
    assert pipeline.arrived == ["/hooks/shipmate"]  # sent once, where the policy says; never re-posted elsewhere
    assert pipeline.to("/elsewhere") == []
    [request] = await requests_of(database_url)
    assert (request.status, request.last_error) == ("timed_out", said)
    [row] = await outbox_rows(database_url, OutboxKind.DEPLOY_WEBHOOK)
    assert (row.status, row.attempts) == ("dead", 1)  # given up at once: retrying cannot make a redirect succeed
    assert row.last_error == f"deploy_webhook: {said}"
    await card_shows(harness.slack, "Deploy to dev", absent="Deploying to")
    assert "stolen-too" not in everything_said(harness.slack, caplog)
    assert TOKEN not in everything_said(harness.slack, caplog)


async def test_the_secret_query_goes_to_ci_only_and_a_reply_is_never_repeated(
    harness: Harness, pipeline: FakePipeline, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    leak = "db password hunter2"
    pipeline.answer_next.append(lambda: web.Response(status=422, reason=f"Nope {leak}", text=f"<h1>{leak}</h1>"))
    await propose_and_approve(harness, REF)

    assert "Requested" in await harness.command_answer(f"deploy {REF} dev", user=PROPOSER)

    failed = await first_attempt(database_url)
    assert failed.last_error == "deploy_webhook: HTTP 422 Unprocessable Entity"  # the standard phrase, not theirs
    [request] = await requests_of(database_url)
    assert failed.payload == {
        "service": "payments",
        "url": pipeline.ci_url,  # for people reading the outbox; the URL sent to is the policy's
        "body": failed.payload["body"],
        "request_id": request.request_id,
    }
    [sent] = await pipeline.wait_for(lambda r: r.path == "/hooks/shipmate", timeout=15)  # the retry went through
    assert sent.query == f"token={TOKEN}"  # read from the policy at send time
    assert [r.path for r in pipeline.received] == ["/hooks/shipmate"]
    [request] = await requests_of(database_url)
    for value in (request.last_error, str(request.ci_url), failed.last_error, str(failed.payload)):
        assert TOKEN not in value
    said = everything_said(harness.slack, caplog)
    assert "HTTP 422 Unprocessable Entity" in said  # the failure is logged, in these words only
    assert leak not in said
    assert TOKEN not in said


async def test_a_hanging_deployer_does_not_delay_an_unrelated_release_card(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    pipeline.hang.add("/hooks/shipmate")  # no answer, for longer than this test (the timeout is 5 s)
    await propose_and_approve(harness, REF)
    assert "Requested" in await harness.command_answer(f"deploy {REF} dev", user=PROPOSER)
    deadline = time.monotonic() + 10
    while "/hooks/shipmate" not in pipeline.arrived:  # the deploy request is now held by the CI
        assert time.monotonic() < deadline, "the deploy request never reached the CI"
        await asyncio.sleep(0.02)

    asked = time.monotonic()
    assert "Proposed" in await harness.command_answer("propose checkout 1.0.0 Faster search", user=PROPOSER)
    await harness.slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == COORDINATION and "checkout@1.0.0" in c.text_everywhere,
        timeout=10,
    )
    waited = time.monotonic() - asked

    assert waited < 1.0, f"the card waited {waited:.2f} s behind a hanging deployer"
    assert pipeline.received == []  # the CI still holds the request: it never answered
    [request] = await requests_of(database_url)
    assert isinstance(request, DeploymentRequest)
    assert request.status == "requested"
