"""What a batch costs the database: one write to claim it and one to mark what went out (each with its Slack ts),
however many messages it holds; the claim is re-checked before a send only once it may have lapsed (past the first
sixth of its lease), and what went out is marked before a send that comes over a second after the last mark."""

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.notify import dispatcher as dispatching
from bot.notify.dispatcher import Dispatcher
from bot.notify.slack_errors import Failure, classify
from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import outbox


class Recording:
    """A Slack sender that answers each post with its own ts, after `pause` seconds."""

    name = "slack"
    kinds = frozenset({"post"})
    shared_by_team = True

    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause
        self.sent: list[int] = []

    async def send(self, message: OutboxMessage) -> str | None:
        await asyncio.sleep(self.pause)
        self.sent.append(message.payload["n"])
        return f"1700000000.{message.payload['n']:06d}"

    def failure(self, message: OutboxMessage, exc: Exception) -> Failure:
        return classify(exc)

    def log_fields(self, exc: Exception) -> dict[str, str | None]:
        return {}

    async def given_up(self, session: AsyncSession, message: OutboxMessage, failure: Failure) -> None:
        pass


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
        writes = db.writes_ended
        assert await dispatcher.dispatch_once() == 20
        assert db.writes_ended - writes == 2
        assert sender.sent == list(range(20))
        rows = await _rows(db)
        assert [(row.status, row.message_ts, row.claim_token) for row in rows] == [
            ("sent", f"1700000000.{n:06d}", None) for n in range(20)
        ]
    finally:
        await db.dispose()


async def test_a_claim_that_may_have_lapsed_is_checked_before_each_send(database_url: str) -> None:
    db = Database(database_url)
    try:
        await _owe(db, 3)
        # a 0.3 s lease: past 0.05 s the claim may lapse, and each send (0.15 s apart) re-checks and extends it
        dispatcher = Dispatcher(db, Recording(pause=0.15), lease=timedelta(seconds=0.3), poll_interval=1)
        writes = db.writes_ended
        assert await dispatcher.dispatch_once() == 3
        assert db.writes_ended - writes == 2 + 2  # claim, mark; a hold before the second and the third send
        assert [row.status for row in await _rows(db)] == ["sent"] * 3
    finally:
        await db.dispose()


async def test_what_went_out_waits_at_most_a_second_to_be_marked(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatching, "MARK_WITHIN", 0.05)  # the second send comes 0.1 s after the first
    db = Database(database_url)
    try:
        await _owe(db, 2)
        dispatcher = Dispatcher(db, Recording(pause=0.1), lease=timedelta(seconds=60), poll_interval=1)
        writes = db.writes_ended
        assert await dispatcher.dispatch_once() == 2
        assert db.writes_ended - writes == 3  # claim; the first marked before the second send; the second marked
        assert [row.status for row in await _rows(db)] == ["sent"] * 2
    finally:
        await db.dispose()
