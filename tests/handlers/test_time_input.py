"""Times out of range, typed into real commands: a clear ephemeral input error, never "Something went wrong"."""

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.harness import Harness

CASES = [
    ("freeze prod now +999999w Forever", "+999999w` is too far from now"),
    ("freeze prod 0001-01-01 +1h Long ago", "0001-01-01` is too far from now"),
    ("freeze prod now 9999-12-31T23:59-12:00 Far zone", "is too far from now"),
    ("schedule payments@2.4.0 +999999w", "+999999w` is too far from now"),
    ("schedule payments@2.4.0 +2h 999999w", "at most 100 years"),
    ("action add payments@2.4.0 <@U0DAVE> 0001-01-01 Fix it", "too far from now"),
]


@pytest.mark.parametrize(("text", "says"), CASES, ids=[text.split(" ", 1)[0] + ":" + says[:12] for text, says in CASES])
async def test_a_time_out_of_range_is_a_clear_input_error(
    harness: Harness, slack: FakeSlack, text: str, says: str
) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout", user="U0RM")
    await slack.wait_for("chat.postMessage")
    posted = len(slack.posts())

    shown = await harness.command_answer(text, user="U0RM")

    assert says in shown
    assert "went wrong" not in shown
    await slack.settle(0.2)
    assert len(slack.posts()) == posted
    freezes = await harness.command_answer("freezes")
    assert not any(reason in freezes for reason in ("Forever", "Long ago", "Far zone"))
    assert "not planned" in await harness.command_answer("show payments@2.4.0")
