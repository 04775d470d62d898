"""Exactly once under concurrency: redelivered CI webhooks and rollbacks typed at the same moment."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.domain.errors import DomainError
from bot.domain.policy import Policy
from bot.domain.proposal import ProposeRequest
from bot.domain.validation import ReleaseRef
from bot.services.deploys import deployments, rollbacks
from bot.services.deploys import reports as ci_reports
from bot.services.deploys.deployments import CiReport
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.releases import releases
from bot.settings import Settings
from storage.db import Database
from storage.repositories import deployments as deployments_repo

TEAM = "T0TEAM"
ALICE = Actor(team_id=TEAM, user_id="U0ALICE")


@pytest.fixture
async def ctx(database_url: str, policy: Policy) -> AsyncIterator[ServiceContext]:
    db = Database(database_url)
    settings = Settings(_env_file=None, database_url=database_url)
    yield ServiceContext(db=db, policy=policy, settings=settings)
    await db.dispose()


async def _in_dev(ctx: ServiceContext, *versions: str) -> None:
    for version in versions:
        await releases.propose(ctx, ALICE, ProposeRequest(service="payments", version=version, summary="x"))
        await deployments.deploy(ctx, ALICE, ReleaseRef("payments", version), "dev")


async def test_the_same_delivery_at_once_is_recorded_once(ctx: ServiceContext) -> None:
    await releases.propose(ctx, ALICE, ProposeRequest(service="payments", version="2.5.0", summary="x"))
    report = CiReport(TEAM, "payments", "2.5.0", "dev", succeeded=True, delivery_id="run-1")

    outcomes = await asyncio.gather(*(ci_reports.record_from_ci(ctx, report) for _ in range(5)))

    assert sorted(outcome.duplicate for outcome in outcomes) == [False, True, True, True, True]
    assert len({outcome.deployment.id for outcome in outcomes}) == 1
    async with ctx.db.read() as session:
        recorded = await deployments_repo.for_release(
            session=session, team_id=TEAM, release_id=outcomes[0].release.id or 0
        )
    assert len(recorded) == 1


async def test_two_rollbacks_at_once_happen_one_after_the_other(ctx: ServiceContext) -> None:
    await _in_dev(ctx, "2.3.0", "2.4.0", "2.5.0")

    results = await asyncio.gather(
        rollbacks.rollback(ctx, ALICE, "payments", "dev", "first"),
        rollbacks.rollback(ctx, Actor(team_id=TEAM, user_id="U0BOB"), "payments", "dev", "second"),
        return_exceptions=True,
    )

    done = [r for r in results if isinstance(r, rollbacks.RollbackOutcome)]
    assert not [r for r in results if not isinstance(r, rollbacks.RollbackOutcome | DomainError)], results
    # Serialised: each saw what the other left, so together they stepped back twice, never the same step twice.
    assert sorted((r.release.version, r.restored.version) for r in done) == [("2.4.0", "2.3.0"), ("2.5.0", "2.4.0")]
    async with ctx.db.read() as session:
        live = await deployments_repo.current(session=session, team_id=TEAM, service="payments", environment="dev")
    assert live is not None
    assert live.version == "2.3.0"
