"""A lock's life on the durable job engine, on a clock the test moves: the holder is warned ten minutes before the
end (with an "extend" button that works), the lock runs out by itself, the next in the queue is offered it and it
passes on when they do not take it in five minutes, and two workers claiming at once end it exactly once."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

import bot.services  # noqa: F401  (registers every job runner)
from bot.domain.grammar.locks import Lock
from bot.domain.policy import Policy
from bot.ids import ActionId
from bot.services.change import locks
from bot.services.kernel import jobs as runners
from bot.services.kernel.context import Actor, ServiceContext
from bot.settings import Settings
from storage.db import Database
from storage.models import AuditEvent, DeployLock, OutboxMessage
from storage.repositories import jobs

TEAM = "T0TEAM"


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def ctx(settings: Settings, policy: Policy, clock: Clock) -> AsyncIterator[ServiceContext]:
    db = Database(settings.database_url)
    yield ServiceContext(db=db, policy=policy, settings=settings, now=clock)
    await db.dispose()


async def _sweep(ctx: ServiceContext, clock: Clock, worker: str = "w1") -> int:
    async with ctx.db.transaction() as session:
        claimed = list(
            await jobs.claim(session=session, worker=worker, limit=50, lease=timedelta(minutes=2), now=clock())
        )
    await runners.run(ctx, claimed, worker)
    return len(claimed)


async def _dms(ctx: ServiceContext, user: str) -> list[str]:
    async with ctx.db.read() as session:
        rows = (
            await session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "dm", OutboxMessage.channel == user)
                .order_by(col(OutboxMessage.id))
            )
        ).all()
    return [json.dumps(row.payload, ensure_ascii=False) for row in rows]


async def _live(ctx: ServiceContext) -> list[tuple[str, str]]:
    async with ctx.db.read() as session:
        rows = (await session.exec(select(DeployLock).where(DeployLock.state != "ended"))).all()
    return [(row.holder, row.state) for row in rows]


async def _endings(ctx: ServiceContext) -> list[str]:
    async with ctx.db.read() as session:
        rows = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "lock_ended").order_by(col(AuditEvent.id)))
        ).all()
    return [str(row.details["ending"]) for row in rows]


def _lock(length: str | None = None) -> Lock:
    return Lock("payments", "dev", "migrating the ledger", length)


async def test_warned_before_the_end_extended_then_expired_once(ctx: ServiceContext, clock: Clock) -> None:
    taken = await locks.lock(ctx, Actor(TEAM, "U0BOB"), _lock("30m"))
    assert taken.lock is not None
    clock.move(minutes=19)
    assert await _sweep(ctx, clock) == 0
    assert await _dms(ctx, "U0BOB") == []
    clock.move(minutes=1)
    await _sweep(ctx, clock)
    [warning] = await _dms(ctx, "U0BOB")
    assert "Your lock of payments dev runs out at" in warning
    assert ActionId.LOCK_EXTEND in warning

    extended = await locks.extend(ctx, Actor(TEAM, "U0BOB"), str(taken.lock.id))
    assert "You extended your lock of payments dev until" in extended.message.plain()
    clock.move(minutes=11)  # past the first end: the lock now runs until 2h after the extension
    await _sweep(ctx, clock)
    assert await _live(ctx) == [("U0BOB", "held")]
    assert await _endings(ctx) == []
    clock.move(minutes=100)  # ten minutes before the new end: warned again
    await _sweep(ctx, clock)
    assert len(await _dms(ctx, "U0BOB")) == 2
    clock.move(minutes=10)
    await _sweep(ctx, clock)
    assert await _live(ctx) == []
    assert await _endings(ctx) == ["expired"]
    assert "ran out" in (await _dms(ctx, "U0BOB"))[-1]
    clock.move(minutes=10)
    await _sweep(ctx, clock)
    assert await _endings(ctx) == ["expired"]


async def test_the_queue_is_offered_in_order_and_passes_on_when_not_taken(ctx: ServiceContext, clock: Clock) -> None:
    await locks.lock(ctx, Actor(TEAM, "U0BOB"), _lock("1h"))
    carol = await locks.lock(ctx, Actor(TEAM, "U0CAROL"), Lock("payments", "dev", "hotfix", "3h"))
    dave = await locks.lock(ctx, Actor(TEAM, "U0DAVE"), Lock("payments", "dev", "coupons", None))
    again = await locks.lock(ctx, Actor(TEAM, "U0CAROL"), Lock("payments", "dev", "hotfix", None))
    assert (carol.position, dave.position, again.position) == (1, 2, 1)
    assert "already number 1 in the queue" in again.message.plain()

    clock.move(hours=1)
    await _sweep(ctx, clock)
    assert await _live(ctx) == [("U0CAROL", "offered")]
    [offer] = await _dms(ctx, "U0CAROL")
    assert "payments dev is yours for 3h: take it or pass" in offer
    assert ActionId.LOCK_TAKE in offer
    assert ActionId.LOCK_PASS in offer

    clock.move(minutes=4)
    await _sweep(ctx, clock)
    assert await _live(ctx) == [("U0CAROL", "offered")]  # held for her five minutes
    clock.move(minutes=1)
    await _sweep(ctx, clock)
    assert await _live(ctx) == [("U0DAVE", "offered")]
    assert await _endings(ctx) == ["expired", "passed"]
    assert "was held for you five minutes and has passed on" in (await _dms(ctx, "U0CAROL"))[-1]
    [offer] = await _dms(ctx, "U0DAVE")
    assert "payments dev is yours for 2h" in offer

    async with ctx.db.read() as session:
        offered = (await session.exec(select(DeployLock).where(DeployLock.holder == "U0DAVE"))).one()
    taken = await locks.take(ctx, Actor(TEAM, "U0DAVE"), str(offered.id))
    assert "You took payments dev until" in taken.message.plain()
    assert await _live(ctx) == [("U0DAVE", "held")]
    with pytest.raises(Exception, match="no longer offered to you"):
        await locks.pass_on(ctx, Actor(TEAM, "U0DAVE"), str(offered.id))


async def test_two_workers_that_claim_the_same_expiry_end_it_once(ctx: ServiceContext, clock: Clock) -> None:
    await locks.lock(ctx, Actor(TEAM, "U0BOB"), _lock("1h"))
    await locks.lock(ctx, Actor(TEAM, "U0CAROL"), Lock("payments", "dev", "hotfix", None))
    clock.move(hours=1)
    async with ctx.db.transaction() as session:
        first = list(await jobs.claim(session=session, worker="a", limit=50, lease=timedelta(seconds=1), now=clock()))
    clock.move(seconds=2)  # the first claimer stalls past its lease; a second claims the same job
    async with ctx.db.transaction() as session:
        second = list(await jobs.claim(session=session, worker="b", limit=50, lease=timedelta(minutes=2), now=clock()))
    assert [job.id for job in first] == [job.id for job in second]
    await runners.run(ctx, second, "b")
    await runners.run(ctx, first, "a")  # fenced: its claim was taken over, it commits nothing
    assert await _endings(ctx) == ["expired"]
    assert await _live(ctx) == [("U0CAROL", "offered")]
    assert len(await _dms(ctx, "U0CAROL")) == 1
