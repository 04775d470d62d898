"""Helpers for reminder and review tests: a policy with fast clocks, and a stand-in for the deploy command."""

import asyncio

from bot.domain.policy import Policy
from bot.services.kernel.context import ServiceContext
from bot.settings import Settings
from storage.db import Database
from storage.models import Release
from storage.repositories import releases as releases_repo
from tests.fakes.slack_api import TEAM_ID

FAST_POLICY = """
release_managers = ["U0RM"]
timezone = "UTC"

[slack]
coordination_channel = "C0RELEASE"
stakeholder_channel = "C0STAKE"

[[environments]]
name = "dev"

[[environments]]
name = "qa"
regression_required = true

[[environments]]
name = "prod"
approvals = 2
approvers = ["U0BOB", "U0CAROL", "S0RELMGR"]

[reminders]
pending_approval_every = "2s"
working_hours = "00:00-24:00"
working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
action_item_before = "1s"
action_item_every = "2s"

[review]
after = "2s"
"""


def services_for(settings: Settings, policy: Policy) -> ServiceContext:
    """A second handle on the app's database, for setting up facts the HTTP surface cannot (yet) create."""
    return ServiceContext(db=Database(settings.database_url), policy=policy, settings=settings)


async def release(services: ServiceContext, service: str, version: str) -> Release:
    async with services.db.read() as session:
        found = await releases_repo.get(session=session, team_id=TEAM_ID, service=service, version=version)
    assert found is not None
    return found


async def posted_card(services: ServiceContext, service: str, version: str) -> Release:
    """Wait until the release message is in Slack (its thread exists)."""
    for _ in range(200):
        found = await release(services, service, version)
        if found.message_ts:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"the message of {service}@{version} was never posted")
