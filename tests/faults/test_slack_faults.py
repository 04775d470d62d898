"""Slack misbehaving (429 with Retry-After, 5xx, hanging past our timeout): every message still arrives once,
the card before its thread replies. (429-then-two-500s is in tests/test_delivery.py.)"""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.domain.policy import Policy
from bot.server import create_app
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack, Fault
from tests.harness import COORDINATION, Harness
from tests.servers import serve

REF = "payments@2.4.0"


@pytest.fixture
async def fast(database_url: str, slack: FakeSlack, policy: Policy) -> AsyncIterator[Harness]:
    """The app with a 1 s Slack timeout, so a hang is a timeout quickly."""
    settings = make_settings(database_url, slack, shipmate_slack_timeout=1.0)
    answer = slack._answer

    def remember_ts(method: str, params: dict[str, Any]) -> dict[str, Any]:
        result = answer(method, params)
        params["posted_ts"] = result.get("ts")  # `params` is the recorded call: keep the ts Slack gave it
        return result

    slack._answer = remember_ts  # type: ignore[method-assign]
    async with serve(create_app(settings, policy), slack) as harness:
        yield harness


def cards(slack: FakeSlack) -> list[str]:
    return [c["posted_ts"] for c in slack.posts(COORDINATION) if not c.get("thread_ts") and REF in c.text_everywhere]


async def propose_and_wait(harness: Harness) -> str:
    assert (await harness.command("propose payments 2.4.0 Faster checkout")).status == 200
    posted = await harness.slack.wait_for(
        "chat.postMessage", lambda c: REF in c.text_everywhere and not c.get("thread_ts"), timeout=30
    )
    value = next(b for b in posted[0]["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    return str(value)


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param([Fault(status=429, retry_after=1, times=3)], id="429-retry-after-past-the-sdk-retry"),
        pytest.param([Fault(status=500, times=5)], id="500-five-times"),
        pytest.param([Fault(status=503, times=1), Fault(status=429, retry_after=1, times=2)], id="503-then-429s"),
        pytest.param([Fault(delay=3, times=2)], id="hang-past-the-timeout-twice"),
    ],
)
async def test_release_message_is_delivered_once(fast: Harness, faults: list[Fault]) -> None:
    fast.slack.fail("chat.postMessage", *faults)
    await propose_and_wait(fast)
    await fast.slack.settle(0.5)
    assert len(cards(fast.slack)) == 1
    assert fast.slack.attempts["chat.postMessage"] > sum(f.times for f in faults)  # every fault was met


async def test_thread_reply_waits_for_the_card_through_faults(fast: Harness) -> None:
    fast.slack.fail("chat.postMessage", Fault(status=500, times=3), Fault(delay=3))
    answer = await fast.command("propose payments 2.4.0 Faster checkout")
    assert "Proposed" in (await fast.reply(answer))["text"]
    card_value = await propose_and_wait(fast)  # the card got through
    assert (await fast.click("release_approve", card_value, user="U0BOB")).status == 200
    replies = await fast.slack.wait_for("chat.postMessage", lambda c: bool(c.get("thread_ts")), timeout=30)
    card_ts = cards(fast.slack)
    assert len(card_ts) == 1
    assert replies[0]["thread_ts"] == card_ts[0]


@pytest.mark.parametrize(
    "fault",
    [Fault(status=500, times=3), Fault(status=429, retry_after=1, times=2), Fault(delay=3)],
    ids=["500s", "429s", "hang"],
)
async def test_card_update_survives_faults_and_shows_the_last_state(fast: Harness, fault: Fault) -> None:
    value = await propose_and_wait(fast)
    fast.slack.fail("chat.update", fault)
    assert (await fast.click("release_approve", value, user="U0BOB")).status == 200
    updates = await fast.slack.wait_for("chat.update", lambda c: "1/2" in c.text_everywhere, timeout=30)
    await fast.slack.settle(0.5)
    assert len(cards(fast.slack)) == 1
    assert updates[-1]["ts"] == cards(fast.slack)[0]
    assert "1/2" in fast.slack.of("chat.update")[-1].text_everywhere


async def test_user_group_lookup_hanging_does_not_stop_a_proposal(fast: Harness) -> None:
    """Groups resolve through Slack; when that hangs, the group grants nothing (fail closed) and work goes on."""
    fast.slack.fail("usergroups.users.list", Fault(delay=3, times=4))
    await propose_and_wait(fast)
    reply = await fast.slack.wait_for("response_url", lambda c: "Proposed" in c.text_everywhere, timeout=30)
    assert reply[0]["response_type"] == "ephemeral"
    assert len(cards(fast.slack)) == 1
