"""Exactly once under concurrency: two app runtimes (each with its scheduler and dispatcher) on one database
deliver each of 1,000 due reminders once."""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.domain.lifecycle import Status
from bot.domain.policy import Policy
from bot.server import Runtime
from bot.settings import Settings
from storage.db import Database
from storage.models import ActionItem, OutboxMessage, Release, ScheduledJob
from storage.repositories import jobs
from storage.types import utcnow
from tests.fakes.slack_api import TEAM_ID, FakeSlack
from tests.review_support import FAST_POLICY

COUNT = 1000


@pytest.fixture
def policy_text() -> str:
    return FAST_POLICY.replace('action_item_every = "2s"', 'action_item_every = "1d"')


async def _seed(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            release = Release(
                team_id=TEAM_ID, proposer_id="U0ALICE", channel_id="C0RELEASE", service="payments", version="2.4.0",
                summary="s", status=Status.RELEASED,
            )  # fmt: skip
            session.add(release)
            await session.flush()
            items = [
                ActionItem(
                    team_id=TEAM_ID,
                    release_id=release.id or 0,
                    owner_id=f"U{n:06d}",
                    text=f"item {n}",
                    due_at=utcnow() + timedelta(days=30),
                    created_by="U0ALICE",
                )
                for n in range(COUNT)
            ]
            session.add_all(items)
            await session.flush()
            for item in items:
                await jobs.ensure(
                    session=session,
                    team_id=TEAM_ID,
                    kind="action_item_reminder",
                    dedupe_key=f"action:{item.id}",
                    due_at=utcnow() - timedelta(seconds=1),
                    target=item.owner_id,
                    payload={"item_id": item.id, "phase": "before"},
                )
    finally:
        await db.dispose()


@pytest.mark.fault
async def test_two_processes_deliver_each_of_1000_reminders_once(
    settings: Settings, policy: Policy, slack: FakeSlack, database_url: str
) -> None:
    await _seed(database_url)
    runtimes = [Runtime(settings, policy), Runtime(settings, policy)]
    await asyncio.gather(*(runtime.start() for runtime in runtimes))
    try:
        await slack.wait_for(
            "chat.postMessage", lambda c: str(c.get("channel", "")).startswith("U0"), count=COUNT, timeout=120
        )
        await slack.settle(quiet=1.0)
    finally:
        await asyncio.gather(*(runtime.stop() for runtime in runtimes))

    sent = Counter(call.get("channel") for call in slack.posts())
    assert len(sent) == COUNT
    assert set(sent.values()) == {1}, [k for k, v in sent.items() if v > 1][:5]
    db = Database(database_url)
    try:
        async with db.read() as session:
            dms = (await session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "dm"))).all()
            left = (await session.exec(select(ScheduledJob).where(col(ScheduledJob.status) != "pending"))).all()
    finally:
        await db.dispose()
    assert len(dms) == COUNT
    assert {m.status for m in dms} == {"sent"}
    assert not left  # every job went out and waits for its next round (the due date)
