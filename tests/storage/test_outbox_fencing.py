"""Fenced outbox claims on SQLite and PostgreSQL: a claim stamps its rows with a token; once another process has
claimed a row after the lease ran out, the first claim can neither re-check it, mark it sent, reschedule, supersede
nor hand it back. A dispatcher claims only its own kinds."""

from datetime import timedelta

from sqlmodel import col, select, update

from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import outbox_claims as claims
from storage.types import utcnow
from tests.fakes.slack_api import TEAM_ID

LEASE = timedelta(seconds=60)


async def _row(db: Database, message_id: int) -> OutboxMessage:
    async with db.read() as session:
        row = (await session.exec(select(OutboxMessage).where(OutboxMessage.id == message_id))).one()
    return row


async def _expire(db: Database, message_id: int) -> None:
    async with db.transaction() as session:
        past = utcnow() - timedelta(seconds=1)
        await session.exec(update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(claimed_until=past))


async def test_a_claim_taken_over_after_its_lease_can_write_nothing_more(db: Database) -> None:
    async with db.transaction() as session:
        session.add(OutboxMessage(team_id=TEAM_ID, kind="deploy_webhook", payload={}))
    async with db.transaction() as session:
        [first] = await claims.claim(session=session, limit=10, lease=LEASE)
    assert first.id is not None
    assert first.claim_token is not None
    async with db.transaction() as session:
        assert await claims.hold(session=session, message_id=first.id, token=first.claim_token, lease=LEASE)
        assert list(await claims.claim(session=session, limit=10, lease=LEASE)) == []  # held: nobody else takes it

    await _expire(db, first.id)  # the first process stalled past its lease
    async with db.transaction() as session:
        [second] = await claims.claim(session=session, limit=10, lease=LEASE)
    assert second.id == first.id
    assert second.claim_token not in (None, first.claim_token)

    async with db.transaction() as session:
        stale = first.claim_token
        assert not await claims.hold(session=session, message_id=first.id, token=stale, lease=LEASE)
        assert not await claims.mark_sent(session=session, message_id=first.id, token=stale, message_ts=None)
        assert not await claims.reschedule(session=session, message_id=first.id, token=stale, at=utcnow(), error="x")
        assert not await claims.supersede(session=session, message_id=first.id, token=stale, error="x")
        assert await claims.release_claims(session=session, message_ids=[first.id], token=stale) == 0
    untouched = await _row(db, first.id)
    assert (untouched.status, untouched.claim_token, untouched.attempts) == ("pending", second.claim_token, 0)

    async with db.transaction() as session:  # the process that holds the claim now writes as usual
        assert await claims.hold(session=session, message_id=second.id or 0, token=second.claim_token, lease=LEASE)
        assert await claims.mark_sent(
            session=session, message_id=second.id or 0, token=second.claim_token, message_ts=None
        )
    sent = await _row(db, first.id)
    assert (sent.status, sent.claim_token, sent.claimed_until) == ("sent", None, None)


async def test_hold_extends_the_claim_from_now(db: Database) -> None:
    async with db.transaction() as session:
        session.add(OutboxMessage(team_id=TEAM_ID, kind="post", channel="C1", payload={}))
    async with db.transaction() as session:
        [row] = await claims.claim(session=session, limit=10, lease=timedelta(seconds=1))
    async with db.transaction() as session:
        assert await claims.hold(session=session, message_id=row.id or 0, token=row.claim_token, lease=LEASE)
    held = await _row(db, row.id or 0)
    assert held.claimed_until is not None
    assert held.claimed_until > utcnow() + timedelta(seconds=50)


async def test_each_dispatcher_claims_only_its_kinds(db: Database) -> None:
    async with db.transaction() as session:
        for kind in ("post", "deploy_webhook", "dm", "protection_review"):
            session.add(OutboxMessage(team_id=TEAM_ID, kind=kind, channel="C1", payload={}))
    async with db.transaction() as session:
        pipeline = await claims.claim(
            session=session, limit=10, lease=LEASE, kinds=frozenset({"deploy_webhook", "protection_review"})
        )
        slack = await claims.claim(session=session, limit=10, lease=LEASE, kinds=frozenset({"post", "dm"}))
    assert [m.kind for m in pipeline] == ["deploy_webhook", "protection_review"]
    assert [m.kind for m in slack] == ["post", "dm"]
    assert pipeline[0].claim_token != slack[0].claim_token


async def test_has_due_sees_only_claimable_rows_of_the_kinds_asked(db: Database) -> None:
    async with db.transaction() as session:
        session.add(OutboxMessage(team_id=TEAM_ID, kind="post", channel="C1", payload={}))
        session.add(OutboxMessage(team_id=TEAM_ID, kind="deploy_webhook", payload={}, next_attempt_at=utcnow() + LEASE))
    async with db.read() as session:
        assert await claims.has_due(session=session, kinds=frozenset({"post"}))
        assert not await claims.has_due(session=session, kinds=frozenset({"deploy_webhook"}))  # not due yet
    async with db.transaction() as session:
        await claims.claim(session=session, limit=10, lease=LEASE)
    async with db.read() as session:
        assert not await claims.has_due(session=session, kinds=frozenset({"post"}))  # claimed
