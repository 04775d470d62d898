"""What is live, and what a rollback restores, straight from the repository (SQLite and PostgreSQL)."""

from storage.db import Database
from storage.models import Deployment, Release
from storage.repositories import deployments as repo
from storage.repositories import releases as releases_repo
from storage.types import utcnow

TEAM = "T0TEAM"


async def _deploy(db: Database, version: str, environment: str, outcome: str = "succeeded", team: str = TEAM) -> int:
    async with db.transaction() as session:
        release = await releases_repo.get(session=session, team_id=team, service="payments", version=version)
        if release is None:
            session.add(
                release := Release(
                    team_id=team,
                    service="payments",
                    version=version,
                    summary="x",
                    proposer_id="U0A",
                    channel_id="C0RELEASE",
                ),
            )
            await session.flush()
        deployment = repo.add(
            session,
            Deployment(
                team_id=team,
                release_id=release.id or 0,
                service="payments",
                version=version,
                environment=environment,
                actor_id="U0A",
                outcome=outcome,
            ),
        )
        await session.flush()
        assert deployment.id is not None
        return deployment.id


async def test_live_is_the_newest_succeeded_deployment_not_rolled_back(db: Database) -> None:
    await _deploy(db, "2.3.0", "prod")
    first = await _deploy(db, "2.4.0", "prod")
    await _deploy(db, "2.5.0", "prod", outcome="failed")
    await _deploy(db, "9.9.9", "prod", team="T0OTHER")
    async with db.read() as session:
        live = await repo.current(session=session, team_id=TEAM, service="payments", environment="prod")
        assert live is not None
        assert live.id == first
        assert live.version == "2.4.0"
        assert await repo.current(session=session, team_id=TEAM, service="payments", environment="qa") is None


async def test_previous_stable_skips_rolled_back_and_same_version_deployments(db: Database) -> None:
    await _deploy(db, "2.3.0", "prod")
    await _deploy(db, "2.4.0", "prod")
    await _deploy(db, "2.5.0", "prod")
    async with db.transaction() as session:
        live = await repo.current(session=session, team_id=TEAM, service="payments", environment="prod")
        assert live is not None
        previous = await repo.previous_stable(session=session, team_id=TEAM, current=live)
        assert previous is not None
        assert previous.version == "2.4.0"
        marked = await repo.mark_rolled_back(
            session=session,
            team_id=TEAM,
            service="payments",
            environment="prod",
            after_id=previous.id or 0,
            at=utcnow(),
            by="U0RM",
            reason="errors",
        )
        assert marked == 1
    await _deploy(db, "2.6.0", "prod")
    await _deploy(db, "2.6.0", "prod")  # redeployed: the earlier 2.6.0 is not a "previous version"
    async with db.read() as session:
        live = await repo.current(session=session, team_id=TEAM, service="payments", environment="prod")
        assert live is not None
        assert live.version == "2.6.0"
        previous = await repo.previous_stable(session=session, team_id=TEAM, current=live)
        assert previous is not None
        assert previous.version == "2.4.0"  # 2.5.0 was rolled back


async def test_live_by_environment_in_one_query(db: Database) -> None:
    await _deploy(db, "2.4.0", "dev")
    await _deploy(db, "2.5.0", "dev")
    await _deploy(db, "2.4.0", "prod")
    await _deploy(db, "2.5.0", "prod", outcome="failed")
    async with db.read() as session:
        live = await repo.live_by_environment(session=session, team_id=TEAM)
        assert sorted((d.environment, d.version) for d in live) == [("dev", "2.5.0"), ("prod", "2.4.0")]
        assert await repo.live_by_environment(session=session, team_id=TEAM, service="billing") == []
