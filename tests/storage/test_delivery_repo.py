"""Delivery metrics from SQL (SQLite and PostgreSQL) on hand-built histories; every expected figure is worked out
here by hand. A pseudo-random history then holds the SQL to the Python definitions (`facts_of`) figure by figure."""

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.domain.delivery_metrics import Facts, Period, ProdDeployment, facts_of
from storage.db import Database
from storage.models import Deployment, Release
from storage.repositories import delivery
from storage.repositories.delivery import Scope

TEAM = "T0TEAM"
T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
D = timedelta(days=1)
PERIOD = Period(T0, T0 + 30 * D)
PROD = Scope(TEAM, "prod")


@dataclass
class History:
    """Releases and deployments written with the times the test chooses; `prod` mirrors them for `facts_of`."""

    db: Database
    prod: list[ProdDeployment] = field(default_factory=list)
    releases: dict[tuple[str, str, str], Release] = field(default_factory=dict)

    async def deploy(
        self,
        ref: str,
        at: datetime,
        *,
        proposed: datetime,
        env: str = "prod",
        outcome: str = "succeeded",
        commit_at: datetime | None = None,
        rolled_back: datetime | None = None,
        verification_failed: datetime | None = None,
        team: str = TEAM,
    ) -> None:
        service, version = ref.split("@")
        async with self.db.transaction() as session:
            release = self.releases.get((team, service, version))
            if release is None:
                release = Release(
                    team_id=team, service=service, version=version, summary="s", proposer_id="U0A",
                    channel_id="C0RELEASE", created_at=proposed, updated_at=proposed,
                )  # fmt: skip
                session.add(release)
                await session.flush()
                self.releases[(team, service, version)] = release
            deployment = Deployment(
                team_id=team, release_id=release.pk, service=service, version=version, environment=env,
                actor_id="ci", outcome=outcome, created_at=at, commit_at=commit_at, rolled_back_at=rolled_back,
                verification_failed_at=verification_failed,
            )  # fmt: skip
            session.add(deployment)
            await session.flush()
            if env == "prod" and team == TEAM:
                self.prod.append(
                    ProdDeployment(
                        id=deployment.id or 0,
                        service=service,
                        at=at,
                        succeeded=outcome == "succeeded",
                        change_started_at=commit_at or release.created_at,
                        failed=rolled_back is not None or verification_failed is not None,
                    )
                )


async def worked_example(db: Database) -> History:
    """Two services over two 30-day periods; the docstrings of the tests below do the arithmetic."""
    h = History(db)
    # previous period: one deployment, rolled back; the next good payments deployment is r1, 11 days later
    await h.deploy("payments@0.9", T0 - 10 * D, proposed=T0 - 20 * D, rolled_back=T0 - 9 * D)
    await h.deploy("payments@1.0", T0 + 1 * D, proposed=T0)  # lead 24 h
    await h.deploy("payments@1.1", T0 + 2 * D, proposed=T0 + D, commit_at=T0 + D - 2 * H, rolled_back=T0 + 2 * D + H)
    await h.deploy("payments@1.2", T0 + 3 * D, proposed=T0 + 2 * D + 2 * H)  # lead 22 h; restores 1.1 after 24 h
    await h.deploy("payments@1.3", T0 + 5 * D, proposed=T0 + 4 * D, verification_failed=T0 + 5 * D + H)  # lead 24 h
    await h.deploy("payments@1.4", T0 + 5 * D + 5 * H, proposed=T0 + 5 * D, outcome="failed")  # CI failed: no count
    await h.deploy("payments@1.4", T0 + 5 * D + 6 * H, proposed=T0 + 5 * D)  # lead 6 h; restores 1.3 after 6 h
    await h.deploy("payments@1.4", T0 + 5 * D + 3 * H, proposed=T0 + 5 * D, env="qa")  # not production
    await h.deploy("search@3.0", T0 + 10 * D, proposed=T0)  # lead 240 h
    await h.deploy("search@3.1", T0 + 11 * D, proposed=T0 + 10 * D, rolled_back=T0 + 11 * D + H)  # never restored
    await h.deploy("payments@7.0", T0 + 4 * D, proposed=T0, team="T0OTHER")  # another workspace
    return h


async def test_workspace_period_and_previous_period(db: Database) -> None:
    """Current: 7 deployments (payments 1.0-1.4, search 3.0-3.1); leads 6, 22, 24, 24, 24, 26, 240 h: median the 4th
    = 24 h, p90 at rank 0.9 × 6 = 5.4: 26 + 0.4 × (240 - 26) = 111.6 h. Failures 1.1, 1.3, 3.1 = 3; 1.1 restored by
    1.2 after 24 h, 1.3 by 1.4 after 6 h, 3.1 not yet: median (6 + 24) / 2 = 15 h. Previous: 0.9 alone: lead 240 h
    (median = p90), failed, restored by 1.0 eleven days later (264 h)."""
    h = await worked_example(db)
    async with db.read() as session:
        now, before = await delivery.period_facts(
            session=session, scope=PROD, period=PERIOD, previous=PERIOD.previous()
        )
    assert now == Facts(
        deployments=7, failures=3, lead_median=24 * 3600, lead_p90=111.6 * 3600, restored=2, restore_median=15 * 3600
    )
    assert now.unrestored == 1
    assert before == Facts(
        deployments=1, failures=1, lead_median=240 * 3600, lead_p90=240 * 3600, restored=1, restore_median=264 * 3600
    )
    assert now == facts_of(h.prod, PERIOD)
    assert before == facts_of(h.prod, PERIOD.previous())


async def test_one_service(db: Database) -> None:
    """payments: leads 6, 22, 24, 24, 26 h: median 24 h, p90 at rank 3.6: 24 + 0.6 × 2 = 25.2 h; 2 of 5 failed."""
    await worked_example(db)
    async with db.read() as session:
        now, _ = await delivery.period_facts(session=session, scope=Scope(TEAM, "prod", "payments"), period=PERIOD)
    assert now == Facts(
        deployments=5, failures=2, lead_median=24 * 3600, lead_p90=25.2 * 3600, restored=2, restore_median=15 * 3600
    )


async def test_weeks_are_laid_back_from_the_end(db: Database) -> None:
    """30 days end on T0+30d: weeks start T0+23d, +16d, +9d, +2d, and the oldest is cut to [T0, T0+2d). 1.0 is in
    the oldest; 1.1 (exactly T0+2d) to 1.4 in the next: leads 26, 22, 24, 6 → median (22 + 24) / 2 = 23 h."""
    await worked_example(db)
    async with db.read() as session:
        weeks = await delivery.weekly_facts(session=session, scope=PROD, period=PERIOD)
    assert [span.start for span, _ in weeks] == [T0, T0 + 2 * D, T0 + 9 * D, T0 + 16 * D, T0 + 23 * D]
    assert [(f.deployments, f.failures) for _, f in weeks] == [(1, 0), (4, 2), (2, 1), (0, 0), (0, 0)]
    assert [f.lead_median for _, f in weeks] == [24 * 3600, 23 * 3600, 132 * 3600, None, None]


async def test_no_deployments_and_a_single_deployment(db: Database) -> None:
    async with db.read() as session:
        empty, before = await delivery.period_facts(
            session=session, scope=PROD, period=PERIOD, previous=PERIOD.previous()
        )
    assert empty == before == Facts()
    h = History(db)
    await h.deploy("payments@1.0", T0 + D, proposed=T0, commit_at=T0 - 2 * D)  # the commit is older than the proposal
    async with db.read() as session:
        one, _ = await delivery.period_facts(session=session, scope=PROD, period=PERIOD)
    assert one == Facts(deployments=1, lead_median=72 * 3600, lead_p90=72 * 3600)


async def test_rollbacks_of_rollbacks_fail_each_undone_deployment_and_restore_at_the_next_good_one(
    db: Database,
) -> None:
    """1.0, 1.1, 1.2 go out a day apart; rollback 1.2 (back to 1.1), then rollback 1.1 (back to 1.0): both are
    failures, neither rollback is a deployment. 1.3 a day after 1.2 restores both: 1.1 after 2 days, 1.2 after 1."""
    h = History(db)
    await h.deploy("payments@1.0", T0 + D, proposed=T0)
    await h.deploy("payments@1.1", T0 + 2 * D, proposed=T0, rolled_back=T0 + 3 * D + 2 * H)
    await h.deploy("payments@1.2", T0 + 3 * D, proposed=T0, rolled_back=T0 + 3 * D + H)
    await h.deploy("payments@1.3", T0 + 4 * D, proposed=T0)
    async with db.read() as session:
        facts, _ = await delivery.period_facts(session=session, scope=PROD, period=PERIOD)
    assert (facts.deployments, facts.failures, facts.restored) == (4, 2, 2)
    assert facts.restore_median == 1.5 * 86400
    assert facts == facts_of(h.prod, PERIOD)


async def test_a_lead_time_never_goes_below_zero(db: Database) -> None:
    h = History(db)
    await h.deploy("payments@1.0", T0 + D, proposed=T0, commit_at=T0 + D + H)  # a CI clock ahead of ours
    async with db.read() as session:
        facts, _ = await delivery.period_facts(session=session, scope=PROD, period=PERIOD)
    assert facts.lead_median == 0


async def test_sql_agrees_with_the_definitions_on_a_random_history(db: Database) -> None:
    rng = random.Random(14)
    h = History(db)
    start = T0 - 40 * D
    for n in range(160):
        service = rng.choice(["payments", "search", "ledger"])
        at = start + timedelta(minutes=rng.randrange(0, 75 * 24 * 60))
        proposed = at - timedelta(minutes=rng.randrange(0, 20 * 24 * 60))
        fate = rng.random()
        await h.deploy(
            f"{service}@1.{n}",
            at,
            proposed=proposed,
            outcome="failed" if fate < 0.05 else "succeeded",
            commit_at=proposed - timedelta(hours=rng.randrange(0, 48)) if rng.random() < 0.5 else None,
            rolled_back=at + H if 0.05 <= fate < 0.2 else None,
            verification_failed=at + 2 * H if 0.15 <= fate < 0.25 else None,
        )
    for scope in (PROD, Scope(TEAM, "prod", "search")):
        history = [d for d in h.prod if scope.service in (None, d.service)]
        async with db.read() as session:
            now, before = await delivery.period_facts(
                session=session, scope=scope, period=PERIOD, previous=PERIOD.previous()
            )
            weeks = await delivery.weekly_facts(session=session, scope=scope, period=PERIOD)
        assert _close(now, facts_of(history, PERIOD))
        assert before is not None
        assert _close(before, facts_of(history, PERIOD.previous()))
        for span, facts in weeks:  # the weeks leave restores out (the chart does not show them)
            assert _close(facts, replace(facts_of(history, span), restored=0, restore_median=None)), span
        assert now.deployments > 10  # the history is not trivially empty


def _close(sql: Facts, spec: Facts) -> bool:
    """Equal counts; durations within a millisecond (SQLite's Julian days keep milliseconds)."""

    def near(a: float | None, b: float | None) -> bool:
        return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-3)

    return (
        (sql.deployments, sql.failures, sql.restored) == (spec.deployments, spec.failures, spec.restored)
        and near(sql.lead_median, spec.lead_median)
        and near(sql.lead_p90, spec.lead_p90)
        and near(sql.restore_median, spec.restore_median)
    )


async def test_what_shipped_and_whether_a_service_is_known(db: Database) -> None:
    await worked_example(db)
    async with db.read() as session:
        rows = await delivery.shipped(session=session, scope=PROD, period=PERIOD)
        known = await delivery.service_known(session=session, team_id=TEAM, service="search")
        unknown = await delivery.service_known(session=session, team_id=TEAM, service="nothing")
    assert [(r.service, r.version, r.failed) for r in rows] == [
        ("payments", "1.0", False), ("payments", "1.1", True), ("payments", "1.2", False),
        ("payments", "1.3", True), ("payments", "1.4", False), ("search", "3.0", False), ("search", "3.1", True),
    ]  # fmt: skip
    assert rows[0].at == T0 + D
    assert (known, unknown) == (True, False)
