"""Helpers for reminder and review tests: a policy with fast clocks, and a stand-in for the deploy command."""

import asyncio

from bot.domain.lifecycle import Status
from bot.domain.policy import Policy
from bot.services import lifecycle_hooks
from bot.services.context import ServiceContext
from bot.settings import Settings
from storage.db import Database
from storage.models import Deployment, Release
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


async def deploy(services: ServiceContext, service: str, version: str, environment: str, *, status: Status) -> None:
    """What the deployment service (another branch) does: record it, move the release, call the hooks."""
    async with services.db.transaction() as session:
        found = await releases_repo.lock(session=session, team_id=TEAM_ID, service=service, version=version)
        assert found is not None and found.id is not None
        before = found.status
        found.status = status.value
        deployment = Deployment(
            team_id=TEAM_ID,
            release_id=found.id,
            service=service,
            version=version,
            environment=environment,
            actor_id="ci",
        )
        session.add(deployment)
        await session.flush()
        if before != found.status:
            await lifecycle_hooks.after_status_change(session, services, found, before)
        await lifecycle_hooks.after_deploy(session, services, found, deployment)


async def roll_back(services: ServiceContext, service: str, version: str, environment: str) -> None:
    async with services.db.transaction() as session:
        found = await releases_repo.lock(session=session, team_id=TEAM_ID, service=service, version=version)
        assert found is not None and found.id is not None
        before = found.status
        found.status = Status.ROLLED_BACK.value
        deployment = Deployment(
            team_id=TEAM_ID,
            release_id=found.id,
            service=service,
            version=version,
            environment=environment,
            actor_id="ci",
        )
        session.add(deployment)
        await session.flush()
        await lifecycle_hooks.after_status_change(session, services, found, before)
        await lifecycle_hooks.after_rollback(session, services, found, deployment)


async def posted_card(services: ServiceContext, service: str, version: str) -> Release:
    """Wait until the release message is in Slack (its thread exists)."""
    for _ in range(200):
        found = await release(services, service, version)
        if found.message_ts:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"the message of {service}@{version} was never posted")
