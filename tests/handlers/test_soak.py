"""`min_soak` with the clock injected: prod is refused at 1h59m of qa soak and allowed at 2h, everywhere gates are
asked (the command here; a waiting gate check is released when the soak ends); a firing alert for the version in
qa holds the soak until it resolves; a release manager may skip it with an audited override; the card counts
down; and the deployers hear "ready for prod" once soak, approvals and sign-off are all met."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.policy import Policy
from bot.server import SERVICES, create_app
from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.handlers.alert_steps import ALERTS_TOKEN, DEPLOYER, alertmanager, post_alerts
from tests.handlers.deploy_steps import PROPOSER
from tests.handlers.pipeline_steps import card_shows, gate, gate_body
from tests.harness import Harness
from tests.servers import serve

REF = "payments@2.4.0"
SOAK = timedelta(hours=2)

POLICY = """
release_managers = ["U0RM"]
timezone = "UTC"

[slack]
coordination_channel = "C0RELEASE"
stakeholder_channel = "C0STAKE"

[[environments]]
name = "dev"

[[environments]]
name = "qa"

[[environments]]
name = "prod"
deployers = ["U0DAVE"]
min_soak = "2h"

[alerts]
environments = { staging = "qa", production = "prod" }
"""


@pytest.fixture
def policy_text() -> str:
    return POLICY


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return make_settings(database_url, slack, shipmate_alerts_token=ALERTS_TOKEN)


@dataclass
class Clock:
    at: datetime

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def app(settings: Settings, policy: Policy, slack: FakeSlack) -> AsyncIterator[tuple[Harness, Clock]]:
    application = create_app(settings, policy)
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    application[SERVICES].now = clock
    async with serve(application, slack) as harness:
        yield harness, clock


async def _in_qa(harness: Harness) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout", user=PROPOSER)
    for env in ("dev", "qa"):
        assert f"is live in *{env}*" in await harness.command_answer(f"deploy {REF} {env}", user=PROPOSER)


async def test_prod_is_refused_at_1h59m_of_soak_and_allowed_at_2h(app: tuple[Harness, Clock]) -> None:
    harness, clock = app
    start = clock.at
    await _in_qa(harness)
    await card_shows(harness.slack, "qa soak: 2h left")

    clock.at = start + SOAK - timedelta(minutes=1)
    refused = await harness.command_answer(f"deploy {REF} prod", user=DEPLOYER)
    assert "must run healthy in qa for 2h before prod" in refused, refused
    assert "qa soak: 1m left" in refused

    clock.at = start + SOAK
    allowed = await harness.command_answer(f"deploy {REF} prod", user=DEPLOYER)
    assert "is live in *prod*" in allowed, allowed


async def test_a_waiting_gate_check_is_released_when_the_soak_ends(app: tuple[Harness, Clock]) -> None:
    harness, clock = app
    start = clock.at
    await _in_qa(harness)
    clock.at = start + SOAK - timedelta(seconds=30)
    waiting = asyncio.create_task(gate(harness, gate_body(ref=REF, environment="prod", wait_seconds=60)))
    await asyncio.sleep(1.5)
    assert not waiting.done(), "the soak has not ended: the check must wait"

    clock.at = start + SOAK

    answer = await asyncio.wait_for(waiting, timeout=15)
    assert answer.status == 200, answer.text
    assert answer.json["allowed"] is True


async def test_a_firing_alert_in_qa_holds_the_soak_until_it_resolves(app: tuple[Harness, Clock]) -> None:
    harness, clock = app
    start = clock.at
    await _in_qa(harness)
    fired = start + timedelta(minutes=30)
    assert (await post_alerts(harness, alertmanager(environment="staging", starts_at=fired))).status == 202
    await card_shows(harness.slack, "qa soak on hold: ProbeFailure is firing")

    clock.at = start + SOAK
    held = await harness.command_answer(f"deploy {REF} prod", user=DEPLOYER)
    assert "ProbeFailure is firing, so its soak in qa has not started" in held, held

    resolved = alertmanager("resolved", environment="staging", starts_at=fired, ends_at=start + timedelta(hours=1))
    assert (await post_alerts(harness, resolved)).json["alerts"] == {"resolved": 1}
    still = await harness.command_answer(f"deploy {REF} prod", user=DEPLOYER)
    assert "qa soak: 1h left" in still, still  # the soak restarted when the alert ended
    clock.at = start + timedelta(hours=3)
    assert "is live in *prod*" in await harness.command_answer(f"deploy {REF} prod", user=DEPLOYER)


async def test_a_release_manager_may_skip_the_soak_with_an_audited_override(app: tuple[Harness, Clock]) -> None:
    harness, clock = app
    await _in_qa(harness)
    clock.at += timedelta(minutes=10)

    refused = await harness.command_answer(f"deploy {REF} prod --override hotfix for an outage", user=DEPLOYER)
    assert "only a release manager may skip it" in refused, refused
    allowed = await harness.command_answer(f"deploy {REF} prod --override hotfix for an outage", user="U0RM")
    assert "is live in *prod*" in allowed, allowed

    history = await harness.command_answer(f"history {REF}")
    assert "hotfix for an outage" in history
