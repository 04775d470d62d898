"""Socket Mode end to end: the real app connects through slack_bolt's aiohttp adapter to the fake Slack's
WebSocket (handed out by `apps.connections.open`), gets envelopes pushed, acks each, and acts on them; over HTTP
it serves health, the CI webhook and the calendar feed, and never `/slack/events`."""

import json
import re
from collections.abc import AsyncIterator, Sequence

import pytest
from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.domain.policy import Policy
from bot.ids import ActionId
from bot.server import BOLT, create_app
from bot.services.kernel.context import ServiceContext
from bot.settings import Settings
from bot.slack_app import MissingSigningSecret
from storage.repositories import reviews as reviews_repo
from tests.conftest import make_settings
from tests.fakes.signing import command_body, signed_headers
from tests.fakes.slack_api import TEAM_ID, FakeSlack
from tests.handlers.deploy_steps import PROPOSER, deployments_of, hook_body, post_hook, ship_to_prod
from tests.harness import COORDINATION, SECRET
from tests.review_support import posted_card, release, services_for
from tests.socket_harness import SocketHarness, serve_socket

FORM = "application/x-www-form-urlencoded"
APP_TOKEN = "xapp-1-A0APP-1-0123456789"


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    """What Socket Mode needs: a bot token and an app-level token; no signing secret at all."""
    return make_settings(database_url, slack, slack_signing_secret="", slack_app_token=APP_TOKEN)


@pytest.fixture
def socket_app(settings: Settings, policy: Policy) -> web.Application:
    return create_app(settings, policy, mode="socket")


@pytest.fixture
async def socket(socket_app: web.Application, slack: FakeSlack) -> AsyncIterator[SocketHarness]:
    async with serve_socket(socket_app, slack) as harness:
        yield harness


@pytest.fixture
async def services(settings: Settings, policy: Policy) -> AsyncIterator[ServiceContext]:
    context = services_for(settings, policy)
    yield context
    await context.db.dispose()


def only_ack(socket: SocketHarness) -> dict[str, object]:
    """The last ack, checked to be the bare `{"envelope_id": …}` Slack expects where it takes no payload."""
    sent, ack = socket.acks[-1]
    assert ack == {"envelope_id": sent["envelope_id"]}
    return ack


async def test_a_command_a_button_and_an_event_are_acked_and_acted_on(
    socket: SocketHarness, slack: FakeSlack, services: ServiceContext
) -> None:
    assert slack.of("apps.connections.open"), "the adapter asked Slack for the WebSocket URL"

    # A command answered in the ack: the answer travels as the ack's payload.
    await socket.command("help", user=PROPOSER)
    sent, ack = socket.acks[-1]
    assert sent["type"] == "slash_commands"
    assert sent["accepts_response_payload"] is True
    assert ack["envelope_id"] == sent["envelope_id"]
    assert "/release propose" in json.dumps(ack["payload"])

    # A command that changes something answers in its ack too (within the budget): a release is proposed.
    assert "Proposed" in await socket.command_answer("propose payments 2.4.0 Faster checkout", user=PROPOSER)
    sent, ack = socket.acks[-1]
    assert ack["envelope_id"] == sent["envelope_id"]
    assert "Proposed" in json.dumps(ack["payload"])
    assert not slack.responses(), "nothing went to response_url: the answer was the ack"
    card = await posted_card(services, "payments", "2.4.0")

    # A button click: acked bare (Slack takes no payload for block_actions), and the approval counts.
    reply = await socket.click_answer(str(ActionId.APPROVE), str(card.id), user="U0BOB")
    assert socket.acks[-1][0]["type"] == "interactive"
    assert socket.acks[-1][0]["accepts_response_payload"] is False
    only_ack(socket)
    assert "You approved" in json.dumps(reply)
    assert "1/2" in await socket.command_answer("show payments@2.4.0")

    # An Events API event: a reply in the review thread is recorded, once even when Slack retries it.
    assert "You approved" in await socket.command_answer("approve payments@2.4.0", user="U0CAROL")
    await ship_to_prod(socket, "payments@2.4.0")
    assert "Started the review" in await socket.command_answer("review start payments@2.4.0", user=PROPOSER)
    thread = (await release(services, "payments", "2.4.0")).message_ts
    assert thread
    message = {
        "type": "message",
        "channel": COORDINATION,
        "user": "U0BOB",
        "text": "Canary caught it early",
        "ts": "1700000600.000001",
        "thread_ts": thread,
        "event_ts": "1700000600.000001",
        "channel_type": "channel",
    }
    await socket.event(message, event_id="Ev0SOCKET1")
    assert socket.acks[-1][0]["type"] == "events_api"
    only_ack(socket)
    await socket.event(message, event_id="Ev0SOCKET1", retry=1)
    assert socket.acks[-1][0]["retry_attempt"] == 1
    only_ack(socket)
    await slack.settle(0.3)
    async with services.db.read() as session:
        review = await reviews_repo.for_release(session=session, team_id=TEAM_ID, release_id=card.pk)
        assert review is not None
        replies = await reviews_repo.replies(session=session, review_id=review.id or 0)
    assert [(r.user_id, r.text) for r in replies] == [("U0BOB", "Canary caught it early")]


@pytest.mark.parametrize("key", [SECRET, "unset", "", APP_TOKEN], ids=["slack-secret", "unset", "empty", "app-token"])
async def test_slack_events_is_not_served_over_http(socket: SocketHarness, slack: FakeSlack, key: str) -> None:
    body = command_body(
        "propose payments 6.6.6 Forged",
        team_id=TEAM_ID,
        user_id="U0RM",
        channel_id=COORDINATION,
        response_url=slack.response_url("forged"),
    )
    headers = signed_headers(key, body, content_type=FORM)
    async with socket.http.post(socket.base_url + "/slack/events", data=body, headers=headers) as response:
        assert response.status == 404
    await slack.settle(0.2)
    assert slack.responses() == []
    assert slack.posts() == []
    assert "No releases yet" in await socket.command_answer("list")


async def test_health_the_webhook_and_the_feed_are_still_served(
    socket: SocketHarness, database_url: str, policy: Policy
) -> None:
    assert (await socket.get("/healthz")).status == 200
    assert (await socket.get("/readyz")).json["status"] == "ready"

    assert "Proposed" in await socket.command_answer("propose payments 2.5.0 Faster checkout", user=PROPOSER)
    recorded = await post_hook(socket, hook_body())
    assert recorded.status == 201, recorded.text
    assert [d.environment for d in await deployments_of(database_url, policy, "payments@2.5.0")] == ["dev"]

    link = await socket.command_answer("calendar link", user="U0RM")
    found = re.search(r"/calendar\.ics\?token=([A-Za-z0-9_-]+)", link)
    assert found, link
    feed = await socket.get(f"/calendar.ics?token={found.group(1)}")
    assert feed.status == 200
    assert feed.text.startswith("BEGIN:VCALENDAR")


async def test_a_request_that_did_not_come_through_the_socket_is_refused(
    socket_app: web.Application, socket: SocketHarness
) -> None:
    """Defence in depth: even handed straight to Bolt, an HTTP-shaped request is not Slack's in Socket Mode."""
    body = command_body("help", team_id=TEAM_ID, user_id="U0RM", channel_id=COORDINATION, response_url="x")
    headers: dict[str, str | Sequence[str]] = {**signed_headers("", body, content_type=FORM)}
    request = AsyncBoltRequest(body=body.decode(), headers=headers)
    response = await socket_app[BOLT].async_dispatch(request)
    assert response.status == 404
    await socket.slack.settle(0.2)
    assert socket.slack.responses() == []


def test_http_mode_is_never_built_without_a_signing_secret(settings: Settings, policy: Policy) -> None:
    with pytest.raises(MissingSigningSecret, match="SLACK_SIGNING_SECRET"):
        create_app(settings, policy, mode="http")
