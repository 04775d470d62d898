"""App Home's own part of a person (`home.own`) on SQLite and PostgreSQL: on PostgreSQL one statement of arrays
(`storage/repositories/one_trip.py`) must read exactly what the five statements read, each value processed by its
column's type (a status as `Status`, times as aware UTC), and only this person's rows in this workspace."""

from datetime import UTC, datetime, timedelta

from bot.domain.lifecycle import OPEN, Status
from storage.db import Database
from storage.models import ActionItem, DeployLock, DeploymentRequest, LockQueueEntry, Release
from storage.repositories import deploy_requests, home, locks

TEAM, OTHER = "T0TEAM", "T0OTHER"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


async def _everything(db: Database, team: str, user: str) -> None:
    """Two releases of `user` in flight (one being deployed), an action item, a held lock and a place in a queue."""
    async with db.transaction() as session:
        releases = [
            Release(team_id=team, service="api", version=v, summary="x", proposer_id=user, channel_id="C",
                    status=status, window_start=NOW + timedelta(days=1))
            for v, status in (("1.0", Status.PROPOSED), ("1.1", Status.APPROVED), ("0.9", Status.RELEASED))
        ]  # fmt: skip
        session.add_all(releases)
        await session.flush()
        assert releases[0].id is not None
        assert releases[1].id is not None
        session.add(
            DeploymentRequest(team_id=team, request_id=f"r-{team}", release_id=releases[1].id, service="api",
                              version="1.1", environment="qa", action="deploy", deployer="webhook",
                              requested_by=user, deadline_at=NOW + timedelta(minutes=30))
        )  # fmt: skip
        session.add(
            ActionItem(team_id=team, release_id=releases[0].id, owner_id=user, due_at=NOW + timedelta(days=2),
                       text="Write the runbook", created_by="U0RM")
        )  # fmt: skip
        session.add(
            DeployLock(team_id=team, service="api", environment="prod", holder=user, reason="migration",
                       since=NOW, until=NOW + timedelta(hours=1))
        )  # fmt: skip
        for who in ("U0FIRST", user):
            session.add(
                LockQueueEntry(team_id=team, service="web", environment="prod", user_id=who, reason="next",
                               length_seconds=600)
            )  # fmt: skip


async def test_a_persons_own_part_is_read_alike_in_one_trip_and_in_five(db: Database) -> None:
    await _everything(db, TEAM, "U0ALICE")
    await _everything(db, OTHER, "U0ALICE")  # the same person in another workspace: never read here
    async with db.quick_rows() as rows:
        own = await home.own(session=rows, team_id=TEAM, user_id="U0ALICE", statuses=OPEN, at=NOW)
        mine = await home.proposed_by(session=rows, team_id=TEAM, user_id="U0ALICE", statuses=OPEN)
        apart = home.Own(
            mine,
            await deploy_requests.open_environments(session=rows, team_id=TEAM, release_ids=[r.id for r in mine]),
            await home.open_action_items(session=rows, team_id=TEAM, owner_id="U0ALICE"),
            await locks.held_rows(session=rows, team_id=TEAM, user_id="U0ALICE", at=NOW),
            await locks.places_of(session=rows, team_id=TEAM, user_id="U0ALICE"),
        )
    assert own.mine == apart.mine
    assert [(r.version, r.status) for r in own.mine] == [("1.1", Status.APPROVED), ("1.0", Status.PROPOSED)]
    assert all(type(r.status) is Status for r in own.mine)  # processed by its column's type, not the stored text
    assert all(r.window_start is not None and r.window_start.utcoffset() == timedelta(0) for r in own.mine)
    assert own.deploying == apart.deploying == {own.mine[0].id: ["qa"]}
    assert own.items == apart.items
    assert [(item.text, release.version) for item, release in own.items] == [("Write the runbook", "1.0")]
    assert [tuple(row) for row in own.held] == [tuple(row) for row in apart.held]
    assert [tuple(row)[:3] for row in own.held] == [("api", "prod", "held")]
    assert [tuple(row) for row in own.places] == [tuple(row) for row in apart.places] == [("web", "prod", 2)]


async def test_a_person_with_nothing_of_their_own_reads_empty_parts(db: Database) -> None:
    await _everything(db, TEAM, "U0ALICE")
    async with db.quick_rows() as rows:
        own = await home.own(session=rows, team_id=TEAM, user_id="U0BOB", statuses=OPEN, at=NOW)
    assert own == home.Own([], {}, [], [], [])
