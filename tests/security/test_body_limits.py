"""Every route that reads a body reads it within bounds (`bot.webhooks.bodies`): a declared length over the route's
limit is refused 413 before a byte is read, a chunked body is cut off once it passes the limit, and a body that
trickles in is refused 408 at the deadline, so a slow client holds no handler. None of it is an ERROR in the log."""

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator

import pytest

from bot import signing
from bot.domain.policy import Policy
from bot.server import create_app
from bot.settings import Settings
from bot.webhooks import bodies
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.handlers.pipeline_steps import GITHUB_SECRET, WEBHOOK_SECRET
from tests.harness import Harness
from tests.raw_http import connect, read_answer, request, send
from tests.servers import serve

ROUTES = {
    "/hooks/deployments": bodies.OURS,
    "/api/v1/gate": bodies.OURS,
    "/hooks/github": bodies.GITHUB,
    "/slack/events": bodies.SLACK,
}


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return make_settings(
        database_url, slack, shipmate_github_webhook_secret=GITHUB_SECRET, shipmate_github_team_id="T0TEAM"
    )


@pytest.fixture
async def server(settings: Settings, policy: Policy, slack: FakeSlack) -> AsyncIterator[Harness]:
    async with serve(create_app(settings, policy), slack) as harness:
        yield harness


def no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [(r.name, r.getMessage()) for r in bad]


def too_large(answer_json: dict[str, object], limit: int) -> None:
    assert answer_json["error"] == "body_too_large"
    assert f"limit of {limit // 1024} KiB" in str(answer_json["message"])


@pytest.mark.parametrize(("path", "limit"), ROUTES.items(), ids=ROUTES.keys())
async def test_a_declared_length_over_the_limit_is_413_before_the_body_is_sent(
    server: Harness, caplog: pytest.LogCaptureFixture, path: str, limit: int
) -> None:
    reader, writer = await connect(server.base_url)
    try:
        headers = {"Content-Type": "application/json", "Content-Length": str(limit + 1)}
        writer.write(request("POST", path, headers))  # the headers only: the answer cannot wait for the body
        answer = await read_answer(reader)
    finally:
        writer.close()

    assert answer.status == 413
    assert answer.headers["connection"] == "close"
    too_large(answer.json, limit)
    no_error_logged(caplog)


@pytest.mark.parametrize(("path", "limit"), ROUTES.items(), ids=ROUTES.keys())
async def test_a_chunked_body_is_cut_off_at_the_limit(
    server: Harness, caplog: pytest.LogCaptureFixture, path: str, limit: int
) -> None:
    reader, writer = await connect(server.base_url)
    chunk = b"x" * 16384
    try:
        writer.write(request("POST", path, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
        for _ in range(limit // len(chunk) + 2):  # past the limit, and never the final empty chunk
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        answer = await read_answer(reader)
    finally:
        writer.close()

    assert answer.status == 413
    too_large(answer.json, limit)
    no_error_logged(caplog)


@pytest.mark.parametrize("path", ROUTES.keys())
async def test_a_body_that_trickles_in_is_408_at_the_deadline(
    server: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setattr(bodies, "DEADLINE", 1.0)
    slow = []
    for _ in range(3):
        reader, writer = await connect(server.base_url)
        writer.write(request("POST", path, {"Content-Type": "application/json", "Content-Length": "100"}, b'{"te'))
        slow.append((reader, writer))
    try:
        # Meanwhile the server answers others at once.
        assert (await send(server.base_url, request("GET", "/healthz", {}))).status == 200

        answers = await asyncio.gather(*(read_answer(reader) for reader, _ in slow))
    finally:
        for _, writer in slow:
            writer.close()

    for answer in answers:
        assert answer.status == 408
        assert answer.json == {
            "ok": False,
            "error": "body_timeout",
            "message": "The body did not arrive within 1 seconds; send it at once.",
        }
    no_error_logged(caplog)


def _ours(path: str, size: int) -> tuple[dict[str, str | bytes], bytes]:
    """A signed delivery for an unknown release, padded with an unknown field to `size` bytes."""
    body = {"team_id": "T0TEAM", "service": "payments", "version": "9.9.9", "environment": "prod"}
    if path == "/hooks/deployments":
        body.update(status="succeeded", delivery_id="run-1")
    frame = json.dumps({**body, "padding": ""}).encode()
    raw = json.dumps({**body, "padding": "p" * (size - len(frame))}).encode()
    return {"Content-Type": "application/json", **signing.sign(WEBHOOK_SECRET, raw, now=time.time())}, raw


@pytest.mark.parametrize("path", ["/hooks/deployments", "/api/v1/gate"])
async def test_a_body_at_the_limit_is_read_and_answered(
    server: Harness, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    headers, raw = _ours(path, bodies.OURS)
    assert len(raw) == bodies.OURS

    answer = await send(server.base_url, request("POST", path, headers, raw))

    assert answer.status == 404, answer.body  # read, verified, parsed: the release is unknown
    assert answer.json["error"] == "not_found"
    no_error_logged(caplog)


async def test_a_github_delivery_near_a_mebibyte_is_read(server: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """GitHub's payloads carry whole repository objects: far more room than our own webhooks."""
    raw = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1, "padding": "p" * (bodies.GITHUB - 100)})
    body = raw.encode()
    digest = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers: dict[str, str | bytes] = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-Hub-Signature-256": f"sha256={digest}",
    }

    answer = await send(server.base_url, request("POST", "/hooks/github", headers, body))

    assert answer.status == 200, answer.body
    assert answer.json["status"] == "pong"
    no_error_logged(caplog)
