"""What a batch costs the database: one write to claim it and one to mark what went out (each with its Slack ts),
however many messages it holds; the claim is re-checked before a send only once it may have lapsed (past the first
sixth of its lease), and what went out is marked before a send that comes over a second after the last mark."""

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.notify import dispatcher as dispatching
from bot.notify.dispatcher import Dispatcher
from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import outbox
from tests.fakes.senders import PostSender


class Recording(PostSender):
    """A Slack sender that answers each post with its own ts, after `pause` seconds."""

    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause
        self.sent: list[int] = []

    async def send(self, message: OutboxMessage) -> str | None:
        await asyncio.sleep(self.pause)
        self.sent.append(message.payload["n"])
        return f"1700000000.{message.payload['n']:06d}"


async def _owe(db: Database, count: int) -> None:
    async with db.transaction() as session:
        for n in range(count):
            outbox.enqueue(session=session, team_id="T0ONE", kind="post", channel="C1", payload={"n": n})


async def _rows(db: Database) -> list[OutboxMessage]:
    async with db.read() as session:
        return list((await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def test_a_batch_is_claimed_in_one_write_and_marked_sent_in_another(database_url: str) -> None:
    db = Database(database_url)
    try:
        await _owe(db, 20)
        sender = Recording()
        dispatcher = Dispatcher(db, sender, lease=timedelta(seconds=60), poll_interval=1)
        writes, changes = db.writes_ended, db.changes_ended
        assert await dispatcher.dispatch_once() == 20
        assert db.writes_ended - writes == 2
        assert db.changes_ended == changes  # bookkeeping: nothing kept for readers (App Home's board) ends with it
        assert sender.sent == list(range(20))
        rows = await _rows(db)
        assert [(row.status, row.message_ts, row.claim_token) for row in rows] == [
            ("sent", f"1700000000.{n:06d}", None) for n in range(20)
        ]
    finally:
        await db.dispose()


async def _writes_to_send(db: Database, count: int, *, pause: float, lease: float) -> int:
    """The writes a dispatcher makes to send `count` owed posts, each send taking `pause` seconds."""
    await _owe(db, count)
    dispatcher = Dispatcher(db, Recording(pause=pause), lease=timedelta(seconds=lease), poll_interval=1)
    writes = db.writes_ended
    assert await dispatcher.dispatch_once() == count
    assert [row.status for row in await _rows(db)] == ["sent"] * count
    return db.writes_ended - writes


async def test_a_claim_that_may_have_lapsed_is_checked_before_each_send(database_url: str) -> None:
    db = Database(database_url)
    try:
        # a 0.3 s lease: past 0.05 s the claim may lapse, and each send (0.15 s apart) re-checks and extends it
        assert await _writes_to_send(db, 3, pause=0.15, lease=0.3) == 2 + 2  # claim, mark; a hold before 2nd, 3rd
    finally:
        await db.dispose()


async def test_what_went_out_waits_at_most_a_second_to_be_marked(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatching, "MARK_WITHIN", 0.05)  # the second send comes 0.1 s after the first
    db = Database(database_url)
    try:
        # claim; the first marked before the second send; the second marked
        assert await _writes_to_send(db, 2, pause=0.1, lease=60) == 3
    finally:
        await db.dispose()
