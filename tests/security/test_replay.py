"""A captured, validly signed request sent again (within Slack's window) changes nothing a second time."""

from typing import Any

from bot.ids import ActionId
from tests.fakes.signing import command_body, interactive_body, signed_headers
from tests.harness import COORDINATION, Answer, Harness

FORM = "application/x-www-form-urlencoded"


async def replay(harness: Harness, body: bytes, headers: dict[str, str]) -> int:
    return (await send(harness, body, headers)).status


async def send(harness: Harness, body: bytes, headers: dict[str, str]) -> Answer:
    async with harness.http.post(harness.base_url + "/slack/events", data=body, headers=headers) as response:
        return Answer(response.status, await response.text(), reply_to="replay")


async def release_id(harness: Harness, ref: str) -> str:
    cards = await harness.slack.wait_for("chat.postMessage", lambda c: ref in c.text_everywhere)
    actions = [b for b in cards[0]["blocks"] if b["type"] == "actions"]
    return str(actions[0]["elements"][0]["value"])


async def test_replayed_propose_creates_one_release(harness: Harness) -> None:
    body = command_body(
        "propose payments 2.4.0 Faster checkout",
        team_id=harness.team_id,
        user_id="U0ALICE",
        channel_id=COORDINATION,
        response_url=harness.slack.response_url("replay"),
    )
    headers = signed_headers(harness.secret, body, content_type=FORM)
    assert "Proposed" in (await harness.reply(await send(harness, body, headers)))["text"]
    refusal = await harness.reply(await send(harness, body, headers))
    assert "already exists" in refusal["text"]
    assert refusal["response_type"] == "ephemeral"
    await harness.slack.settle(0.2)
    assert len(harness.slack.posts(COORDINATION)) == 1
    history = await harness.command_answer("history payments@2.4.0")
    assert history.count("proposed it") == 1


async def test_replayed_approve_click_counts_once(harness: Harness) -> None:
    await harness.command("propose payments 2.4.0 Faster checkout")
    value = await release_id(harness, "payments@2.4.0")
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": harness.team_id, "domain": "test"},
        "user": {"id": "U0BOB", "username": "bob", "team_id": harness.team_id},
        "api_app_id": "A0APP",
        "trigger_id": "trigger.replay",
        "channel": {"id": COORDINATION, "name": "releases"},
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": COORDINATION},
        "response_url": harness.slack.response_url("replay-click"),
        "actions": [{"type": "button", "action_id": str(ActionId.APPROVE), "block_id": "b", "value": value}],
    }
    body = interactive_body(payload)
    headers = signed_headers(harness.secret, body, content_type=FORM)
    assert await replay(harness, body, headers) == 200
    await harness.slack.wait_for("response_url", lambda c: "You approved" in c.text_everywhere)
    assert await replay(harness, body, headers) == 200
    await harness.slack.wait_for("response_url", lambda c: "already approved" in c.text_everywhere)
    await harness.slack.settle(0.2)
    thread = [c for c in harness.slack.posts(COORDINATION) if c.get("thread_ts")]
    assert len([c for c in thread if "approved for" in c["text"]]) == 1
    assert "1/2" in await harness.command_answer("show payments@2.4.0")
