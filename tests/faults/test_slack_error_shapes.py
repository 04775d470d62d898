"""Every shape a failed Slack call can take reaches the outbox's back-off: the message is retried within seconds
(not after the 60 s claim lease a crashed sweep would leave it to), delivered once, and the row says what failed."""

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from slack_sdk.errors import SlackApiError
from sqlmodel import col, select

from bot.domain.policy import Policy
from bot.notify.slack_errors import classify
from bot.server import create_app
from storage.db import Database
from storage.models import OutboxMessage
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack, Fault
from tests.harness import COORDINATION, Harness
from tests.servers import serve

REF = "payments@2.4.0"
PROXY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"


@pytest.fixture
async def app(database_url: str, slack: FakeSlack, policy: Policy) -> AsyncIterator[Harness]:
    settings = make_settings(database_url, slack, shipmate_slack_timeout=1.0, shipmate_claim_lease=60.0)
    async with serve(create_app(settings, policy), slack) as harness:
        yield harness


@pytest.mark.parametrize(
    ("fault", "recorded"),
    [
        # slack_sdk retries a 500 or 503 once itself: two such answers reach the outbox's back-off once
        (Fault(status=502, body=PROXY_PAGE, content_type="text/html", times=1), "slack 502 "),
        (Fault(status=503, body="upstream connect error", content_type="text/plain", times=2), "slack 503 non-JSON"),
        (Fault(status=500, body="", times=2), "slack 500 "),
        (Fault(status=200, body="", times=1), "slack 200 "),
        (Fault(status=200, body="<html>maintenance</html>", times=1), "slack 200 "),
        (Fault(reset=True, times=2), "network: "),
        (Fault(error="fatal_error_we_never_heard_of", times=1), "slack 200 fatal_error_we_never_heard_of"),
        (Fault(status=429, retry_after=None, times=2), "slack 429 "),
    ],
    ids=["html-502", "text-503", "empty-500", "empty-200", "html-200-as-json", "reset", "unknown-code", "429-no-wait"],
)
async def test_every_error_shape_backs_off_and_delivers_once(
    app: Harness, database_url: str, fault: Fault, recorded: str
) -> None:
    app.slack.fail("chat.postMessage", replace(fault))  # a fresh copy: the fake counts `times` down on it
    await app.command(f"propose {REF.replace('@', ' ')} Faster checkout")
    cards = await app.slack.wait_for(
        "chat.postMessage", lambda c: REF in c.text_everywhere and not c.get("thread_ts"), timeout=15
    )
    await app.slack.settle(0.5)
    assert len(cards) == 1
    assert len([c for c in app.slack.posts(COORDINATION) if not c.get("thread_ts")]) == 1
    db = Database(database_url)
    try:
        async with db.read() as session:
            rows = (await session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "card"))).all()
    finally:
        await db.dispose()
    sent = [row for row in rows if row.status == "sent"]
    assert len(sent) == 1
    assert sent[0].attempts == 1  # one failure, classified and rescheduled
    assert sent[0].last_error.startswith(recorded), sent[0].last_error


def test_classify_never_raises_on_what_a_proxy_or_the_sdk_hands_over() -> None:
    class Odd:  # neither slack_sdk's response nor aiohttp's: no status, no data, no headers
        pass

    odd = SlackApiError("odd", Odd())  # type: ignore[no-untyped-call]
    assert classify(odd).error == "slack ? empty or non-JSON answer"
    assert classify(RuntimeError("boom")).error == "RuntimeError: boom"
