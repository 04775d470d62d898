"""Approval reminders over the real app: a digest per approver, within seconds when the policy says 2s, and
none once the release is approved."""

from collections.abc import Callable

import pytest

from tests.fakes.slack_api import Call
from tests.harness import Harness
from tests.review_support import FAST_POLICY


@pytest.fixture
def policy_text() -> str:
    return FAST_POLICY


def _dm_to(user: str, *refs: str) -> Callable[[Call], bool]:
    return lambda call: call.get("channel") == user and all(ref in call.text_everywhere for ref in refs)


async def test_pending_release_reminds_each_approver_once_per_round(harness: Harness) -> None:
    await harness.command_answer("propose payments 2.4.0 Faster checkout", user="U0ALICE")
    await harness.command_answer("propose billing 1.0.0 Invoices", user="U0ALICE")

    # One message per approver, listing both releases (not one per release).
    bob = await harness.slack.wait_for("chat.postMessage", _dm_to("U0BOB", "payments@2.4.0", "billing@1.0.0"))
    assert "wait for your approval" in bob[0]["text"]
    await harness.slack.wait_for("chat.postMessage", _dm_to("U0CAROL", "payments@2.4.0", "billing@1.0.0"))
    first_round = list(harness.slack.posts("U0BOB"))
    assert all("payments@2.4.0" in c.text_everywhere and "billing@1.0.0" in c.text_everywhere for c in first_round)
    # The proposer is never reminded to approve their own release.
    assert not harness.slack.posts("U0ALICE")


async def test_reminders_stop_once_approved(harness: Harness) -> None:
    await harness.command_answer("propose payments 2.4.0 Faster checkout", user="U0ALICE")
    await harness.slack.wait_for("chat.postMessage", _dm_to("U0BOB", "payments@2.4.0"))
    await harness.command_answer("approve payments@2.4.0", user="U0BOB")

    # Bob approved: the next round goes to Carol only.
    carol_before = len(harness.slack.posts("U0CAROL"))
    await harness.slack.wait_for("chat.postMessage", _dm_to("U0CAROL", "payments@2.4.0"), count=carol_before + 1)
    bob_after_approval = len(harness.slack.posts("U0BOB"))

    await harness.command_answer("approve payments@2.4.0", user="U0CAROL")
    await harness.slack.settle(quiet=0.5)
    carol_count = len(harness.slack.posts("U0CAROL"))
    # Well past a reminder round (2s): nothing more for anyone.
    await harness.slack.settle(quiet=3.0)
    assert len(harness.slack.posts("U0CAROL")) == carol_count
    assert len(harness.slack.posts("U0BOB")) == bob_after_approval


async def test_cancelled_release_is_not_reminded(harness: Harness) -> None:
    await harness.command_answer("propose payments 2.4.0 Faster checkout", user="U0ALICE")
    await harness.command_answer("cancel payments@2.4.0", user="U0ALICE")
    await harness.slack.settle(quiet=3.0)
    assert not harness.slack.posts("U0BOB")
