"""The pipeline client on its own against the fake CI and GitHub: what is checked again at send time (the
deployer is still the policy's, the URL may be called), what a failure says (never the other side's words, never a
URL's query), and which failures no retry can fix."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.domain.pipeline import OutboxKind
from bot.domain.policy import Deployer
from bot.notify.pipeline_client import PipelineClient, PipelineError
from bot.settings import Settings
from tests.fakes.pipeline import FakePipeline

SETTINGS = Settings(
    _env_file=None,
    shipmate_policy=Path("/nonexistent/shipmate.toml"),
    shipmate_webhook_secret="webhook-secret",
    shipmate_github_token="ghs_test",
)


@pytest.fixture
async def client(pipeline: FakePipeline) -> AsyncIterator[PipelineClient]:
    settings = SETTINGS.model_copy(update={"shipmate_github_api_url": pipeline.url})
    client = PipelineClient(settings, timeout=0.5)
    await client.start()
    yield client
    await client.close()


def body(service: str = "payments", request_id: str = "r" * 32) -> dict[str, Any]:
    """An outbox row's payload for a deploy webhook, as the services write it."""
    request = {"action": "deploy", "service": service, "version": "1.0.0", "environment": "dev"}
    return {
        "service": service,
        "url": "(shown)",
        "body": request | {"request_id": request_id},
        "request_id": request_id,
    }


def webhook(url: str, *, allow_http: bool = False) -> Deployer:
    """A deployer as the policy has it; `model_construct` skips the load-time checks, as a policy changed behind
    a queued request could."""
    return Deployer.model_construct(webhook=url, allow_http=allow_http, github_workflow=None, ref="main")


async def send_webhook(client: PipelineClient, deployer: Deployer | None) -> None:
    await client.send(OutboxKind.DEPLOY_WEBHOOK, body(), deployer=deployer)


async def test_the_url_comes_from_the_deployer_not_from_the_row(client: PipelineClient, pipeline: FakePipeline) -> None:
    row = body() | {"url": f"{pipeline.url}/elsewhere/old?token=old"}
    await client.send(OutboxKind.DEPLOY_WEBHOOK, row, deployer=webhook(pipeline.ci_url + "?token=now"))
    [sent] = pipeline.received
    assert (sent.path, sent.query) == ("/hooks/shipmate", "token=now")
    assert json.loads(sent.body) == row["body"]


@pytest.mark.parametrize(
    ("deployer", "says"),
    [
        (None, "payments has no webhook deployer in the policy any more ([services.payments.deploy] webhook)"),
        (
            Deployer.model_construct(webhook=None, github_workflow="a/b/.github/workflows/d.yml", ref="main"),
            "payments has no webhook deployer in the policy any more",
        ),
        (webhook("http://ci.example.com/hooks/ship?token=s3cret"), "http://ci.example.com/hooks/ship uses http"),
        (webhook("https://ci.example.com:99999/hooks/ship?token=s3cret"), "port '99999' of"),
    ],
)
async def test_what_the_policy_no_longer_allows_is_not_sent_and_never_retried(
    client: PipelineClient, pipeline: FakePipeline, deployer: Deployer | None, says: str
) -> None:
    with pytest.raises(PipelineError) as raised:
        await send_webhook(client, deployer)
    assert says in str(raised.value)
    assert "s3cret" not in str(raised.value)
    assert raised.value.fatal
    assert raised.value.permanent
    assert pipeline.arrived == []


async def test_http_to_a_named_host_is_tried_when_the_deployer_allows_it(client: PipelineClient) -> None:
    with pytest.raises(PipelineError) as refused:
        await send_webhook(client, webhook("http://ci.invalid/hooks/ship"))
    with pytest.raises(PipelineError) as tried:
        await send_webhook(client, webhook("http://ci.invalid/hooks/ship", allow_http=True))
    assert refused.value.fatal
    assert str(tried.value).startswith("network: ")  # it went out: `.invalid` never resolves
    assert not tried.value.fatal


async def test_github_redirects_are_not_followed_either(client: PipelineClient, pipeline: FakePipeline) -> None:
    moved = f"{pipeline.url}/elsewhere/repos/acme/renamed?page=2"
    pipeline.answer_next.append(lambda: web.Response(status=301, headers={"Location": moved}))
    with pytest.raises(PipelineError) as raised:
        await client.send(
            OutboxKind.WORKFLOW_DISPATCH,
            {"owner": "acme", "repo": "old", "workflow": "deploy.yml", "ref": "main", "inputs": {}},
        )
    assert str(raised.value) == (
        f"GitHub answered HTTP 301 (a redirect to {pipeline.url}/elsewhere/repos/acme/renamed); Shipmate does not "
        "follow redirects: point SHIPMATE_GITHUB_API_URL at the final URL"
    )
    assert raised.value.fatal
    assert pipeline.to("/elsewhere") == []


@pytest.mark.parametrize(
    ("answer", "says", "permanent"),
    [
        (
            lambda: web.Response(status=503, reason="Down for x", text="secret detail"),
            "HTTP 503 Service Unavailable",
            False,
        ),
        (lambda: web.Response(status=429, headers={"Retry-After": "7"}), "HTTP 429 Too Many Requests", False),
        (lambda: web.Response(status=404, text="<html>secret detail</html>"), "HTTP 404 Not Found", True),
        (lambda: web.Response(status=599, text="secret detail"), "HTTP 599", False),
    ],
)
async def test_a_failure_says_status_and_standard_reason_only(
    client: PipelineClient, pipeline: FakePipeline, answer: object, says: str, permanent: bool
) -> None:
    pipeline.answer_next.append(answer)  # type: ignore[arg-type]
    with pytest.raises(PipelineError) as raised:
        await send_webhook(client, webhook(pipeline.ci_url))
    assert str(raised.value) == says
    assert (raised.value.permanent, raised.value.fatal) == (permanent, False)
    assert raised.value.retry_after == (7.0 if "429" in says else None)


async def test_network_failures_name_the_error_class_not_the_url(
    client: PipelineClient, pipeline: FakePipeline
) -> None:
    pipeline.hang.add("/hooks/shipmate")
    with pytest.raises(PipelineError) as raised:
        await send_webhook(client, webhook(pipeline.ci_url + "?token=s3cret"))
    assert str(raised.value) == "network: no answer within 0.5 s (TimeoutError)"
    await pipeline.close()
    with pytest.raises(PipelineError) as raised:
        await send_webhook(client, webhook(pipeline.ci_url + "?token=s3cret"))
    assert str(raised.value) == "network: ClientConnectorError"
    assert not raised.value.permanent
