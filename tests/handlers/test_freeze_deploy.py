"""Freezes meet deployments, end to end over signed HTTP: one-off and recurring freezes refuse with the freeze
named, a release manager's override passes and is announced, and subscribers hear about deployments."""

import pytest

from tests.conftest import POLICY
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import PROD_DEPLOYER, PROPOSER, propose_and_approve
from tests.harness import STAKEHOLDERS, Harness

REF = "payments@2.4.0"
ALWAYS_FROZEN = """
[[freezes]]
environments = ["prod"]
every = "mon 00:00 - mon 00:00"
reason = "weekly maintenance"
timezone = "Europe/Berlin"
"""


@pytest.fixture
def policy_text(request: pytest.FixtureRequest) -> str:
    return POLICY + (ALWAYS_FROZEN if "recurring" in request.node.name else "")


async def _ready_for_prod(harness: Harness) -> None:
    await propose_and_approve(harness, REF)
    for env in ("dev", "qa"):
        assert f"is live in *{env}*" in await harness.command_answer(f"deploy {REF} {env}", user=PROPOSER)
    assert "*passed*" in await harness.command_answer(f"verify {REF} qa passed", user="U0QA")


async def test_deploy_during_one_off_freeze_is_refused_then_overridden(harness: Harness, slack: FakeSlack) -> None:
    frozen = await harness.command_answer("freeze prod now +2h quarter close", user="U0RM")
    assert "quarter close" in frozen
    await _ready_for_prod(harness)

    refused = await harness.command_answer(f"deploy {REF} prod", user=PROD_DEPLOYER)
    assert "prod is frozen" in refused
    assert "quarter close" in refused
    assert "<!date^" in refused

    not_manager = await harness.command_answer(f"deploy {REF} prod --override hotfix", user=PROD_DEPLOYER)
    assert "only a release manager may override" in not_manager

    overridden = await harness.command_answer(f"deploy {REF} prod --override hotfix for INC-42", user="U0RM")
    assert "is live in *prod*" in overridden
    announced = await slack.wait_for(
        "chat.postMessage", lambda c: c["channel"] == STAKEHOLDERS and "hotfix for INC-42" in c.text_everywhere
    )
    assert announced
    history = await harness.command_answer(f"history {REF}")
    assert "hotfix for INC-42" in history


async def test_deploy_during_recurring_freeze_is_refused_naming_it(harness: Harness) -> None:
    await _ready_for_prod(harness)
    refused = await harness.command_answer(f"deploy {REF} prod", user=PROD_DEPLOYER)
    assert "prod is frozen" in refused
    assert "weekly maintenance" in refused
    assert "is live in *prod*" not in refused


async def test_subscriber_gets_a_dm_when_the_service_is_deployed(harness: Harness, slack: FakeSlack) -> None:
    assert "payments" in await harness.command_answer("subscribe payments", user="U0SUB")
    await _ready_for_prod(harness)
    assert "is live in *prod*" in await harness.command_answer(f"deploy {REF} prod", user=PROD_DEPLOYER)
    dms = await slack.wait_for("chat.postMessage", lambda c: c["channel"] == "U0SUB" and REF in c.text_everywhere)
    assert any("prod" in c.text_everywhere for c in dms)
