"""App Home over signed HTTP: what each person sees, and approving from the tab."""

import time
from typing import Any

from bot.ids import ActionId, BlockId
from tests.fakes.slack_api import Call
from tests.harness import COORDINATION, Harness


async def open_home(harness: Harness, user: str) -> Call:
    before = len([c for c in harness.slack.of("views.publish") if c.get("user_id") == user])
    answer = await harness.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"})
    assert answer.status == 200
    published = await harness.slack.wait_for("views.publish", lambda c: c.get("user_id") == user, count=before + 1)
    return published[-1]


def buttons(view: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (block["block_id"], element["action_id"], element["value"])
        for block in view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def test_home_lists_a_pending_approval_for_its_approver_only(harness: Harness) -> None:
    await harness.command_answer("propose payments 2.4.0 Faster checkout <!channel>")
    await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == COORDINATION)

    bob = (await open_home(harness, "U0BOB"))["view"]
    assert bob["type"] == "home"
    text = str(bob)
    assert "payments@2.4.0" in text
    assert "&lt;!channel&gt;" in text
    assert "<!channel>" not in text
    assert (f"{BlockId.HOME_APPROVAL}:1", str(ActionId.APPROVE), "1") in buttons(bob)
    assert (f"{BlockId.HOME_APPROVAL}:1", str(ActionId.REJECT), "1") in buttons(bob)

    outsider = (await open_home(harness, "U0ZED"))["view"]
    assert buttons(outsider) == []
    assert "Nothing waits for you" in str(outsider)
    assert "payments@2.4.0" not in str(outsider)

    proposer = (await open_home(harness, "U0ALICE"))["view"]
    assert buttons(proposer) == []  # separation of duties: not asked to approve their own release
    assert "payments@2.4.0" in str(proposer)
    assert "None in flight" not in str(proposer)


async def test_messages_tab_publishes_nothing(harness: Harness) -> None:
    await harness.event({"type": "app_home_opened", "user": "U0BOB", "channel": "D0HOME", "tab": "messages"})
    await harness.slack.settle(0.3)
    assert harness.slack.of("views.publish") == []


async def test_approving_from_home_republishes_with_the_outcome(harness: Harness) -> None:
    await harness.command_answer("propose payments 2.4.0 Faster checkout")
    await open_home(harness, "U0BOB")
    payload = {
        "type": "block_actions",
        "team": {"id": harness.team_id, "domain": "test"},
        "user": {"id": "U0BOB", "username": "bob", "team_id": harness.team_id},
        "api_app_id": "A0APP",
        "token": "legacy",
        "trigger_id": f"trigger.U0BOB.{time.monotonic_ns()}",
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home", "blocks": []},
        "actions": [
            {
                "type": "button",
                "action_id": str(ActionId.APPROVE),
                "block_id": f"{BlockId.HOME_APPROVAL}:1",
                "value": "1",
                "action_ts": str(time.time()),
            }
        ],
    }
    assert (await harness.interactive(payload)).status == 200
    published = await harness.slack.wait_for("views.publish", lambda c: c.get("user_id") == "U0BOB", count=2)
    after = published[-1]["view"]
    assert "You approved payments@2.4.0 for prod (1/2)" in str(after)
    assert buttons(after) == []  # nothing waits for Bob any more

    again = await harness.interactive(payload)
    assert again.status == 200
    published = await harness.slack.wait_for("views.publish", lambda c: c.get("user_id") == "U0BOB", count=3)
    assert "already approved" in str(published[-1]["view"])


async def test_home_stays_under_the_block_limit_with_many_releases(harness: Harness) -> None:
    for minor in range(14):
        await harness.command(f"propose svc{minor} 1.{minor}.0 Release number {minor}")
    await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == COORDINATION, count=14)
    bob = (await open_home(harness, "U0BOB"))["view"]
    assert len(bob["blocks"]) <= 100
    assert len(buttons(bob)) == 20
    assert "…and more wait for you" in str(bob)
