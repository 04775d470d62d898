"""Scheduled jobs on SQLite and PostgreSQL: dedupe, atomic claims, leases retaken after a crash, fencing."""

from datetime import timedelta

from storage.db import Database
from storage.models import ScheduledJob
from storage.repositories import jobs
from storage.types import utcnow
from tests.fakes.slack_api import TEAM_ID


async def _schedule(db: Database, key: str, *, due_in: float = -1, earlier: bool = False) -> None:
    async with db.transaction() as session:
        await jobs.ensure(
            session=session,
            team_id=TEAM_ID,
            kind="window_reminder",
            dedupe_key=key,
            due_at=utcnow() + timedelta(seconds=due_in),
            target="U0ALICE",
            earlier=earlier,
        )


async def _all(db: Database) -> list[ScheduledJob]:
    from sqlmodel import select

    async with db.read() as session:
        return list((await session.exec(select(ScheduledJob))).all())


async def test_scheduling_twice_keeps_one_job_and_its_time(db: Database) -> None:
    await _schedule(db, "k", due_in=100)
    await _schedule(db, "k", due_in=5)
    [job] = await _all(db)
    assert job.due_at > utcnow() + timedelta(seconds=50)
    await _schedule(db, "k", due_in=5, earlier=True)  # a rollback wants it sooner
    [job] = await _all(db)
    assert job.due_at < utcnow() + timedelta(seconds=10)


async def test_claim_is_exclusive_and_a_lapsed_lease_is_retaken(db: Database) -> None:
    await _schedule(db, "a")
    await _schedule(db, "b", due_in=3600)  # not due
    async with db.transaction() as session:
        first = await jobs.claim(session=session, worker="w1", limit=10, lease=timedelta(seconds=60))
    async with db.transaction() as session:
        second = await jobs.claim(session=session, worker="w2", limit=10, lease=timedelta(seconds=60))
    assert [job.dedupe_key for job in first] == ["a"]
    assert not second

    # w1 "crashed": once its lease lapses, w3 takes the job over and w1 can no longer finish it.
    async with db.transaction() as session:
        retaken = await jobs.claim(
            session=session, worker="w3", limit=10, lease=timedelta(seconds=60), now=utcnow() + timedelta(seconds=61)
        )
    assert [job.dedupe_key for job in retaken] == ["a"]
    async with db.transaction() as session:
        assert not await jobs.fence(session=session, job_ids=[first[0].id or 0], worker="w1")
    async with db.transaction() as session:
        assert await jobs.fence(session=session, job_ids=[retaken[0].id or 0], worker="w3")
        await jobs.finish(session=session, job_ids=[retaken[0].id or 0])
    async with db.transaction() as session:
        later = await jobs.claim(
            session=session, worker="w4", limit=10, lease=timedelta(seconds=60), now=utcnow() + timedelta(hours=2)
        )
    assert [job.dedupe_key for job in later] == ["b"]  # "a" is done for good


async def test_drop_and_revive(db: Database) -> None:
    await _schedule(db, "gone", due_in=60)
    async with db.transaction() as session:
        assert await jobs.drop(session=session, team_id=TEAM_ID, dedupe_keys=["gone"], reason="cancelled") == 1
    [job] = await _all(db)
    assert job.status == "dropped"
    assert job.last_error == "cancelled"
    await _schedule(db, "gone", due_in=60)  # scheduled again later (e.g. proposed again): live once more
    [job] = await _all(db)
    assert job.status == "pending"
    async with db.read() as session:
        assert await jobs.next_due(session=session) == job.due_at
