"""One workspace's flood does not make Shipmate busy for another: a workspace may hold three quarters of the cap on
work in flight at most, so the others still get in."""

import asyncio

import pytest

from bot.server import Runtime
from bot.settings import Settings
from handlers.answering import BUSY
from tests.fakes.slack_api import FakeSlack, Fault
from tests.harness import Harness
from tests.workspaces.support import command, install, many_settings


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return many_settings(database_url, slack, shipmate_max_in_flight=4, shipmate_ack_budget=0.3)


async def test_a_flood_from_one_workspace_leaves_room_for_another(
    harness: Harness, runtime: Runtime, slack: FakeSlack
) -> None:
    await install(harness, "T0AAA")
    await install(harness, "T0BBB")
    await command(harness, "propose payments 1.0.0 One", team_id="T0AAA")
    runtime.services.directory.ttl = 0  # type: ignore[attr-defined]  # every approval asks Slack again
    held = asyncio.Event()
    # Approving asks Slack who is in the approver group S0RELMGR: held, A's approvals stay in flight.
    slack.fail("usergroups.users.list", Fault(status=200, until=held, times=10))

    flood = [await harness.command("approve payments@1.0.0", user=f"U0A{n}", team_id="T0AAA") for n in range(3)]
    assert all(answer.status == 200 for answer in flood)
    one_more = await harness.command("approve payments@1.0.0", user="U0A9", team_id="T0AAA")
    assert BUSY in one_more.text
    other = await harness.command("help", team_id="T0BBB")
    assert BUSY not in other.text
    assert other.status == 200
    held.set()
