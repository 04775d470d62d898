"""The "ready for prod" DM: the deployers of prod hear once that the release may go there, when its qa soak, its
approvals and its sign-off are all met, whichever comes last (here, the approval after the soak)."""

from datetime import timedelta

import pytest

from tests.handlers.alert_steps import DEPLOYER
from tests.handlers.deploy_steps import PROPOSER
from tests.handlers.test_soak import REF, SOAK, Clock, app, settings  # noqa: F401 (fixtures)
from tests.harness import Harness

POLICY = """
release_managers = ["U0RM"]
timezone = "UTC"

[slack]
coordination_channel = "C0RELEASE"

[[environments]]
name = "qa"
regression_required = true

[[environments]]
name = "prod"
approvals = 1
approvers = ["U0BOB"]
deployers = ["U0DAVE"]
min_soak = "2h"
"""


@pytest.fixture
def policy_text() -> str:
    return POLICY


def _ready_dms(harness: Harness) -> list[str]:
    return [
        c.text_everywhere
        for c in harness.slack.of("chat.postMessage")
        if c.get("channel") == DEPLOYER and "is ready for *prod*" in c.text_everywhere
    ]


async def test_deployers_hear_ready_for_prod_once_everything_is_met(app: tuple[Harness, Clock]) -> None:  # noqa: F811
    harness, clock = app
    clock.at -= SOAK  # the qa deployment is two hours old on the app's clock: its soak job is due now
    start = clock.at
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout", user=PROPOSER)
    assert "is live in *qa*" in await harness.command_answer(f"deploy {REF} qa", user=PROPOSER)
    assert "*passed*" in await harness.command_answer(f"verify {REF} qa passed", user="U0QA")
    clock.at = start + SOAK + timedelta(seconds=1)
    await harness.slack.settle(1.0)
    assert _ready_dms(harness) == [], "soaked and signed off, but not approved yet"

    assert "You approved" in await harness.command_answer(f"approve {REF}", user="U0BOB")

    [dm] = await harness.slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == DEPLOYER and "is ready for *prod*" in c.text_everywhere
    )
    assert "payments@2.4.0" in dm.text_everywhere
    await harness.slack.settle(1.0)
    assert len(_ready_dms(harness)) == 1
    history = await harness.command_answer(f"history {REF}")
    assert "told the deployers of prod it is ready" in history, history
