"""Gate checks are audited once per outcome change, also when two processes record the same outcome at once: each
reads the newest `gate_checked` event with the release held, so the second sees the first's."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.domain.policy import Policy
from bot.domain.proposal import ProposeRequest
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.pipeline import gate_checks
from bot.services.pipeline.gate_checks import GateQuery
from bot.services.releases import releases
from bot.settings import Settings
from storage.db import Database
from storage.repositories import audit

TEAM = "T0TEAM"
ALICE = Actor(team_id=TEAM, user_id="U0ALICE")


@pytest.fixture
async def processes(database_url: str, policy: Policy) -> AsyncIterator[list[ServiceContext]]:
    """Two service contexts with their own connection pools, as two processes have."""
    settings = Settings(_env_file=None, database_url=database_url)
    contexts = [ServiceContext(db=Database(database_url), policy=policy, settings=settings) for _ in "12"]
    yield contexts
    for ctx in contexts:
        await ctx.db.dispose()


async def _gate_events(ctx: ServiceContext, release_id: int) -> list[dict[str, object]]:
    async with ctx.db.read() as session:
        events = await audit.newest_for_release(session=session, team_id=TEAM, release_id=release_id, limit=100)
    return [event.details for event in events if event.action == "gate_checked"]


async def test_the_same_outcome_recorded_at_once_by_two_processes_is_one_event(
    processes: list[ServiceContext],
) -> None:
    one, two = processes
    await releases.propose(one, ALICE, ProposeRequest(service="payments", version="2.5.0", summary="x"))
    query = GateQuery(TEAM, "payments", "2.5.0", "prod")
    verdict = await gate_checks.judge(one, query)
    assert not verdict.allowed

    await asyncio.gather(*(gate_checks.record(ctx, [(query, verdict, 0.0)]) for _ in range(10) for ctx in processes))

    events = await _gate_events(two, verdict.release_id)
    assert [(e["environment"], e["allowed"], e["source"]) for e in events] == [("prod", False, "api")]


async def test_each_environment_and_source_has_its_own_last_outcome(processes: list[ServiceContext]) -> None:
    ctx = processes[0]
    await releases.propose(ctx, ALICE, ProposeRequest(service="payments", version="2.5.0", summary="x"))
    asked = [
        GateQuery(TEAM, "payments", "2.5.0", "prod"),
        GateQuery(TEAM, "payments", "2.5.0", "prod", source="github"),
        GateQuery(TEAM, "payments", "2.5.0", "dev"),
        GateQuery(TEAM, "payments", "2.5.0", "prod"),
    ]
    answered = [(query, await gate_checks.judge(ctx, query), 0.0) for query in asked]

    await gate_checks.record(ctx, answered)  # in one transaction: the repeat sees the first of the batch
    await gate_checks.record(ctx, answered)  # and the next call sees them all

    events = await _gate_events(ctx, answered[0][1].release_id)
    assert [(e["environment"], e["source"], e["allowed"]) for e in events] == [
        ("prod", "api", False),
        ("prod", "github", False),
        ("dev", "api", True),
    ]
