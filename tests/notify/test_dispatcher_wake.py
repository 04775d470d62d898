"""A commit that enqueued messages wakes the dispatcher that sends their kinds, at once, and only that one: a
sweep that would find nothing still costs a write transaction. A transaction that rolled back wakes no one."""

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.notify.dispatcher import Dispatcher
from storage.db import Database, Writer
from storage.models import OutboxMessage
from storage.repositories import outbox
from tests.fakes.senders import PostSender

HOUR = 3600.0  # a poll interval no test waits for: what is sent was woken


class Counting(PostSender):
    """Counts its sweeps (each claim prepares its batch, even an empty one) and what it sent."""

    def __init__(self, kinds: frozenset[str]) -> None:
        self.kinds = kinds
        self.sweeps = 0
        self.sent: list[str] = []
        self.arrived = asyncio.Event()

    async def prepare(self, session: Writer, batch: Sequence[OutboxMessage]) -> None:
        self.sweeps += 1

    async def send(self, message: OutboxMessage) -> str | None:
        self.sent.append(message.kind)
        self.arrived.set()
        return "1700000000.000100"


async def _enqueue(db: Database, *kinds: str, fail: bool = False) -> None:
    async with db.transaction() as session:
        for kind in kinds:
            outbox.enqueue(session=session, team_id="T0ONE", kind=kind, channel="C1", payload={"text": kind})
        if fail:
            raise RuntimeError("the use case failed after enqueueing")


async def test_the_listeners_hear_the_kinds_a_commit_enqueued_and_nothing_of_a_rollback(db: Database) -> None:
    heard: list[set[str]] = []
    db.on_enqueued(lambda kinds: heard.append(set(kinds)))
    await _enqueue(db, "post", "dm", "post")
    assert heard == [{"post", "dm"}]  # once per transaction, told after its commit
    with pytest.raises(RuntimeError):
        await _enqueue(db, "post", fail=True)
    async with db.transaction():
        pass  # enqueues nothing
    assert heard == [{"post", "dm"}]


async def test_a_commit_wakes_the_dispatcher_of_its_kinds_and_not_the_others(db: Database) -> None:
    slack, pipeline = Counting(frozenset({"post"})), Counting(frozenset({"deploy"}))
    loops = [Dispatcher(db, sender, lease=timedelta(seconds=60), poll_interval=HOUR) for sender in (slack, pipeline)]
    for loop in loops:
        db.on_enqueued(loop.kick)
    tasks = [asyncio.create_task(loop.run()) for loop in loops]
    try:
        await asyncio.sleep(0.05)  # both asleep, each after its first poll found nothing
        slack_sweeps, pipeline_sweeps = slack.sweeps, pipeline.sweeps
        await _enqueue(db, "post")
        await asyncio.wait_for(slack.arrived.wait(), 5)
        assert slack.sent == ["post"]
        assert slack.sweeps > slack_sweeps
        await _enqueue(db, "deploy")
        await asyncio.wait_for(pipeline.arrived.wait(), 5)
        assert pipeline.sent == ["deploy"]
        assert slack.sent == ["post"]
        assert pipeline.sweeps == pipeline_sweeps + 1  # the Slack message's commit did not wake it
    finally:
        for loop in loops:
            loop.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_listener_that_fails_fails_neither_the_change_nor_the_other_listeners(db: Database) -> None:
    heard: list[set[str]] = []

    def broken(kinds: set[str]) -> None:
        raise RuntimeError("a bug in a listener")

    db.on_enqueued(broken)
    db.on_enqueued(lambda kinds: heard.append(set(kinds)))
    await _enqueue(db, "post")  # does not raise: the commit happened
    assert heard == [{"post"}]
    async with db.quick_read() as session:
        assert len((await session.exec(select(OutboxMessage))).all()) == 1
