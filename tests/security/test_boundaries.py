"""Oversized bodies and foreign workspaces are refused before anything is read or changed."""

import json
from collections.abc import AsyncIterator

from bot.ids import ActionId
from bot.server import MAX_BODY
from tests.fakes.signing import command_body, event_body, signed_headers
from tests.harness import COORDINATION, Harness

FORM = "application/x-www-form-urlencoded"


async def test_oversized_body_is_refused_with_413(harness: Harness) -> None:
    summary = "x" * (MAX_BODY + 1024)
    answer = await harness.command(f"propose payments 9.9.9 {summary}")
    assert answer.status == 413
    await harness.slack.settle(0.2)
    assert harness.slack.calls == []


async def test_oversized_chunked_body_is_refused_with_413(harness: Harness) -> None:
    """No Content-Length to trust: the reader stops at the limit."""
    body = command_body(
        "propose payments 9.9.9 " + "y" * (MAX_BODY + 1024),
        team_id=harness.team_id,
        user_id="U0ALICE",
        channel_id=COORDINATION,
        response_url=harness.slack.response_url("big"),
    )
    headers = signed_headers(harness.secret, body, content_type=FORM)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16384):
            yield body[start : start + 16384]

    async with harness.http.post(harness.base_url + "/slack/events", data=chunks(), headers=headers) as response:
        assert response.status == 413
    await harness.slack.settle(0.2)
    assert harness.slack.posts() == []
    assert "No releases yet" in await harness.command_answer("list")


async def test_body_just_under_the_limit_is_read(harness: Harness) -> None:
    answer = await harness.command("list " + "z" * (MAX_BODY // 2))
    assert answer.status == 200


async def test_command_from_another_workspace_is_refused(harness: Harness) -> None:
    answer = await harness.command("propose payments 2.4.0 From elsewhere", team_id="T0OTHER")
    assert answer.status == 200
    assert "another Slack workspace" in answer.json["text"]
    assert answer.json["response_type"] == "ephemeral"
    await harness.slack.settle(0.2)
    assert harness.slack.posts() == []
    assert harness.slack.responses() == []
    assert "No releases yet" in await harness.command_answer("list")


async def test_button_from_another_workspace_is_refused(harness: Harness) -> None:
    await harness.command("propose payments 2.4.0 Ours")
    cards = await harness.slack.wait_for("chat.postMessage")
    value = next(b for b in cards[0]["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    harness.team_id = "T0OTHER"
    answer = await harness.click(ActionId.APPROVE, value, user="U0BOB")
    harness.team_id = "T0TEAM"
    assert answer.status == 403
    await harness.slack.settle(0.2)
    assert [c for c in harness.slack.posts() if c.get("thread_ts")] == []
    assert "0/2" in await harness.command_answer("show payments@2.4.0")


async def test_event_from_another_workspace_is_refused(harness: Harness) -> None:
    body = event_body({"type": "app_mention", "text": "hi", "channel": "C1"}, team_id="T0OTHER", event_id="Ev1")
    answer = await harness.post_signed(body, content_type="application/json")
    assert answer.status == 403
    assert json.loads(answer.text)["error"] == "team_mismatch"
