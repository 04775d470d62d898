"""The aggregates behind the backlog gauges, and handing claims back, on SQLite and PostgreSQL."""

from datetime import timedelta

from sqlmodel import col, select, update

from storage.db import Database
from storage.models import OutboxMessage, ScheduledJob
from storage.repositories import jobs, outbox
from storage.repositories import outbox_claims as claims
from storage.types import utcnow
from tests.fakes.slack_api import TEAM_ID

LEASE = timedelta(seconds=60)


def _job(kind: str, *, due_in: float, status: str = "pending", claimed_by: str | None = None) -> ScheduledJob:
    return ScheduledJob(
        team_id=TEAM_ID, kind=kind, due_at=utcnow() + timedelta(seconds=due_in), status=status, claimed_by=claimed_by
    )


async def test_outbox_backlog_counts_pending_and_dead_and_dates_the_oldest(db: Database) -> None:
    async with db.read() as session:
        empty = await outbox.backlog(session=session)
    assert (empty.pending, empty.dead, empty.oldest_pending) == (0, 0, None)
    old = utcnow() - timedelta(minutes=5)
    async with db.transaction() as session:
        session.add(OutboxMessage(team_id=TEAM_ID, kind="post", channel="C1", payload={}, created_at=old))
        session.add(OutboxMessage(team_id=TEAM_ID, kind="post", channel="C1", payload={}))
        session.add(OutboxMessage(team_id=TEAM_ID, kind="post", channel="C1", payload={}, status="dead"))
        session.add(OutboxMessage(team_id=TEAM_ID, kind="post", channel="C1", payload={}, status="sent"))
    async with db.read() as session:
        backlog = await outbox.backlog(session=session)
    assert (backlog.pending, backlog.dead) == (2, 1)
    assert backlog.oldest_pending is not None
    assert abs((backlog.oldest_pending - old).total_seconds()) < 1


async def test_jobs_backlog_counts_due_and_claimed_not_future_or_done(db: Database) -> None:
    async with db.transaction() as session:
        session.add(_job("a", due_in=-90))
        session.add(_job("b", due_in=-10))
        session.add(_job("c", due_in=3600))  # not due yet
        session.add(_job("d", due_in=-50, status="claimed", claimed_by="host:1:abc:def"))
        session.add(_job("e", due_in=-500, status="done"))
    now = utcnow()
    async with db.read() as session:
        backlog = await jobs.backlog(session=session, now=now)
    assert (backlog.due, backlog.claimed) == (2, 1)
    assert backlog.oldest_due is not None
    assert 89 < (now - backlog.oldest_due).total_seconds() < 92


async def test_outbox_hand_back_only_while_the_claim_is_still_ours(db: Database) -> None:
    async with db.transaction() as session:
        for _ in range(3):
            session.add(OutboxMessage(team_id=TEAM_ID, kind="post", channel="C1", payload={}))
    async with db.transaction() as session:
        mine = list(await claims.claim(session=session, limit=10, lease=LEASE))
    assert len(mine) == 3
    token = mine[0].claim_token
    assert token is not None
    async with db.transaction() as session:  # the first was sent; another process re-claimed the third
        assert await claims.mark_sent(session=session, message_id=mine[0].id or 0, token=token, message_ts="1.1")
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == mine[2].id)
            .values(claimed_until=utcnow() + 2 * LEASE, claim_token="theirs")
        )
    async with db.transaction() as session:
        released = await claims.release_claims(session=session, message_ids=[m.id or 0 for m in mine], token=token)
    assert released == 1  # only the second: sent and re-claimed rows are not ours to hand back
    async with db.read() as session:
        rows = {m.id: m for m in (await session.exec(select(OutboxMessage))).all()}
    assert rows[mine[1].id].claimed_until is None
    assert rows[mine[2].id].claimed_until is not None
    async with db.transaction() as session:  # handed back: another process takes it at once
        again = list(await claims.claim(session=session, limit=10, lease=LEASE))
    assert [m.id for m in again] == [mine[1].id]


async def test_jobs_hand_back_only_this_process_claims_and_its_fence_then_fails(db: Database) -> None:
    async with db.transaction() as session:
        for n in range(3):
            session.add(_job(f"k{n}", due_in=-1))
    async with db.transaction() as session:
        mine = list(await jobs.claim(session=session, worker="host:1:aaaaaa:11111111", limit=2, lease=LEASE))
    async with db.transaction() as session:
        theirs = list(await jobs.claim(session=session, worker="host:2:bbbbbb:22222222", limit=2, lease=LEASE))
    assert (len(mine), len(theirs)) == (2, 1)

    async with db.transaction() as session:
        released = await jobs.release_claims(session=session, worker_prefix="host:1:aaaaaa:")
    assert released == 2
    async with db.transaction() as session:  # the stopping claimer's batch now commits nothing
        assert not await jobs.fence(session=session, job_ids=[j.id or 0 for j in mine], worker="host:1:aaaaaa:11111111")
    async with db.read() as session:
        claimed = (await session.exec(select(ScheduledJob).where(col(ScheduledJob.status) == "claimed"))).all()
    assert [j.id for j in claimed] == [theirs[0].id]
    async with db.transaction() as session:  # due at once for the next claimer
        taken = list(await jobs.claim(session=session, worker="host:2:bbbbbb:33333333", limit=5, lease=LEASE))
    assert sorted(j.id or 0 for j in taken) == sorted(j.id or 0 for j in mine)


async def test_a_prefix_with_like_wildcards_matches_literally(db: Database) -> None:
    async with db.transaction() as session:
        session.add(_job("k", due_in=-1))
    async with db.transaction() as session:
        await jobs.claim(session=session, worker="hostXa:1:abc:1", limit=1, lease=LEASE)
    async with db.transaction() as session:
        assert await jobs.release_claims(session=session, worker_prefix="host_a:1:") == 0
        assert await jobs.release_claims(session=session, worker_prefix="host%") == 0
        assert await jobs.release_claims(session=session, worker_prefix="hostXa:1:") == 1
