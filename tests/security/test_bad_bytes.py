"""Bytes no client should send are the client's problem, answered 400 (401 where they stand for a credential), and
never a 500 with a traceback in the log: a non-ASCII byte in `Authorization` or a signature header, a body that is
not UTF-8 or not JSON on each webhook, a calendar token that no link could be."""

import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator

import pytest

from bot import signing
from bot.domain.policy import Policy
from bot.server import create_app
from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.handlers.pipeline_steps import GITHUB_SECRET, WEBHOOK_SECRET
from tests.harness import Harness
from tests.raw_http import request, send
from tests.servers import serve

WEBHOOKS = ["/hooks/deployments", "/api/v1/gate"]
NOT_JSON = {"not-utf8": b'{"team_id": "T0TEAM\xff\xfe"}', "latin1": b"\xe9t\xe9", "not-json": b"team_id=T0TEAM"}


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return make_settings(
        database_url,
        slack,
        shipmate_github_webhook_secret=GITHUB_SECRET,
        shipmate_github_team_id="T0TEAM",
        shipmate_metrics_token="scrape-me",
    )


@pytest.fixture
async def server(settings: Settings, policy: Policy, slack: FakeSlack) -> AsyncIterator[Harness]:
    async with serve(create_app(settings, policy), slack) as harness:
        yield harness


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [(r.name, r.getMessage()) for r in bad]


def _shipmate_signed(body: bytes) -> dict[str, str | bytes]:
    return {"Content-Type": "application/json", **signing.sign(WEBHOOK_SECRET, body, now=time.time())}


def _github_signed(body: bytes) -> dict[str, str | bytes]:
    digest = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "deployment_status",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-Hub-Signature-256": f"sha256={digest}",
    }


@pytest.mark.parametrize("value", [b"Bearer scrape-m\xe9", b"Bearer \xff\xfe", "Bearer scrape-mé".encode()])
async def test_a_non_ascii_metrics_authorization_is_401(
    server: Harness, caplog: pytest.LogCaptureFixture, value: bytes
) -> None:
    answer = await send(server.base_url, request("GET", "/metrics", {"Authorization": value}))

    assert answer.status == 401, answer.body
    assert "SHIPMATE_METRICS_TOKEN" in answer.json["error"]
    assert (
        await send(server.base_url, request("GET", "/metrics", {"Authorization": "Bearer scrape-me"}))
    ).status == 200
    no_traceback(caplog)


@pytest.mark.parametrize("path", WEBHOOKS)
@pytest.mark.parametrize("body", NOT_JSON.values(), ids=NOT_JSON.keys())
async def test_a_signed_body_that_is_not_utf8_json_is_400(
    server: Harness, caplog: pytest.LogCaptureFixture, path: str, body: bytes
) -> None:
    answer = await send(server.base_url, request("POST", path, _shipmate_signed(body), body))

    assert answer.status == 400, answer.body
    assert answer.json["error"] == "invalid_json"
    no_traceback(caplog)


@pytest.mark.parametrize("body", NOT_JSON.values(), ids=NOT_JSON.keys())
async def test_a_github_body_that_is_not_utf8_json_is_400(
    server: Harness, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    answer = await send(server.base_url, request("POST", "/hooks/github", _github_signed(body), body))

    assert answer.status == 400, answer.body
    assert answer.json["error"] == "invalid_json"
    no_traceback(caplog)


@pytest.mark.parametrize("path", WEBHOOKS)
async def test_a_non_ascii_signature_is_401(server: Harness, caplog: pytest.LogCaptureFixture, path: str) -> None:
    body = b'{"team_id": "T0TEAM"}'
    for header in (signing.SIGNATURE_HEADER, signing.TIMESTAMP_HEADER):
        headers = {**_shipmate_signed(body), header: b"sha256=\xff\xfe" + b"0" * 60}

        answer = await send(server.base_url, request("POST", path, headers, body))

        assert answer.status == 401, answer.body
        assert answer.json["error"] == "bad_signature"
    no_traceback(caplog)


async def test_non_ascii_github_headers_are_refused(server: Harness, caplog: pytest.LogCaptureFixture) -> None:
    body = b'{"action": "created"}'
    bad_signature = {**_github_signed(body), "X-Hub-Signature-256": b"sha256=\xe9" + b"0" * 63}
    refused = await send(server.base_url, request("POST", "/hooks/github", bad_signature, body))
    assert (refused.status, refused.json["error"]) == (401, "bad_signature")
    bad_delivery = {**_github_signed(body), "X-GitHub-Delivery": b"d\xe9livery"}
    refused = await send(server.base_url, request("POST", "/hooks/github", bad_delivery, body))
    assert (refused.status, refused.json["error"]) == (422, "invalid_delivery")
    no_traceback(caplog)


@pytest.mark.parametrize(
    "target",
    [b"/calendar.ics?token=%FF%FE", b"/calendar.ics?token=abc%00def", b"/calendar.ics?token=a+b"],
    ids=["escaped-non-utf8", "nul", "space"],
)
async def test_a_calendar_token_no_link_could_be_is_400(
    server: Harness, caplog: pytest.LogCaptureFixture, target: bytes
) -> None:
    answer = await send(server.base_url, request("GET", target, {}))

    assert answer.status == 400, answer.body
    assert b"calendar link" in answer.body
    no_traceback(caplog)


async def test_raw_bytes_in_the_request_line_are_400_and_one_quiet_line(
    server: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp's parser refuses them before any route runs; the token-like query is not written to the log."""
    caplog.set_level(logging.INFO, logger="aiohttp.server")

    answer = await send(server.base_url, request("GET", b"/calendar.ics?token=s3cr\xff\xfe", {}))

    assert answer.status == 400
    no_traceback(caplog)
    assert [r.getMessage() for r in caplog.records if r.name == "aiohttp.server"] == [
        "refused a malformed request: InvalidURLError (400)"
    ]
    assert "s3cr" not in caplog.text


@pytest.mark.parametrize(
    ("body", "signature", "status"),
    [(b"command=%2Frelease&text=\xff\xfe", "v0=00", 400), (b"command=%2Frelease&text=list", b"v0=\xff\xfe", 401)],
    ids=["body-not-utf8", "signature-not-ascii"],
)
async def test_bad_bytes_to_slack_events_are_refused(
    server: Harness, caplog: pytest.LogCaptureFixture, body: bytes, signature: str | bytes, status: int
) -> None:
    headers: dict[str, str | bytes] = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": signature,
    }
    answer = await send(server.base_url, request("POST", "/slack/events", headers, body))
    assert answer.status == status, answer.body
    no_traceback(caplog)
