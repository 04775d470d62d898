"""Graceful hand-over between replicas. On SIGTERM a replica says it is not ready, claims nothing more and hands
back what it holds, so the other replica delivers it at once (not after the lease) and exactly once; outbox
messages it claimed and had not tried go back too, while the one it is sending finishes."""

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import ClientSession
from sqlmodel import col, select

from bot.domain import reminders
from bot.domain.lifecycle import Status
from bot.domain.policy import Policy
from bot.server import Runtime
from storage.db import Database
from storage.models import OutboxMessage, Release, ScheduledJob
from storage.repositories import jobs, outbox
from storage.types import utcnow
from tests.conftest import make_settings
from tests.fakes.slack_api import TEAM_ID, FakeSlack, Fault
from tests.harness import Harness
from tests.process import AppProcess
from tests.review_support import FAST_POLICY

JOB_LEASE = 120  # seconds: bot.scheduler.Scheduler's default; the hand-over must beat it by far
HOURLY = FAST_POLICY.replace('pending_approval_every = "2s"', 'pending_approval_every = "1h"')  # one round here


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def seed_due_approval_reminder(database_url: str) -> None:
    """A release waiting on prod approvers, and Bob's reminder already due."""
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            session.add(
                Release(
                    team_id=TEAM_ID,
                    proposer_id="U0ALICE",
                    channel_id="C0RELEASE",
                    message_ts="1700000000.000001",
                    service="payments",
                    version="2.4.0",
                    summary="Faster checkout",
                    status=Status.PROPOSED,
                )
            )
            await jobs.ensure(
                session=session,
                team_id=TEAM_ID,
                kind=reminders.Kind.APPROVAL,
                dedupe_key=reminders.approval_key("U0BOB"),
                due_at=utcnow() - timedelta(seconds=1),
                target="U0BOB",
            )
    finally:
        await db.dispose()


async def the_job(database_url: str) -> ScheduledJob:
    db = Database(database_url)
    try:
        async with db.read() as session:
            return (await session.exec(select(ScheduledJob))).one()
    finally:
        await db.dispose()


async def claimed_by_pid(database_url: str, pid: int) -> ScheduledJob:
    for _ in range(300):
        job = await the_job(database_url)
        if job.status == "claimed" and f":{pid}:" in (job.claimed_by or ""):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"process {pid} never claimed the job: {job}")


async def test_a_job_claimed_by_a_stopping_replica_is_delivered_by_the_other_at_once_and_once(
    database_url: str, slack: FakeSlack, tmp_path: Path, http: ClientSession
) -> None:
    policy = tmp_path / "shipmate.toml"
    assert HOURLY != FAST_POLICY
    policy.write_text(HOURLY)
    await seed_due_approval_reminder(database_url)
    held = asyncio.Event()  # replica A's run of the job waits on Slack (resolving S0RELMGR) until released
    slack.fail("usergroups.users.list", Fault(status=200, until=held, client="a"))
    slow = {"SHIPMATE_SLACK_TIMEOUT": "30"}
    one = AppProcess(database_url=database_url, slack_url=slack.url_for("a"), policy=policy,
                     extra_env={**slow, "SHIPMATE_DRAIN_SECONDS": "3"})  # fmt: skip
    two = AppProcess(database_url=database_url, slack_url=slack.url_for("b"), policy=policy,
                     extra_env={**slow, "SHIPMATE_DRAIN_SECONDS": "0.2"})  # fmt: skip
    try:
        await one.start()
        assert one.process is not None
        await claimed_by_pid(database_url, one.process.pid)
        await two.start()
        await asyncio.sleep(0.5)
        assert slack.posts("U0BOB") == []  # B leaves the job alone: A holds it for the lease

        stopping = time.monotonic()
        one.process.send_signal(signal.SIGTERM)
        reminder = await slack.wait_for("chat.postMessage", lambda c: c.get("channel") == "U0BOB", timeout=10)
        handed_over = time.monotonic() - stopping
        async with http.get(one.base_url + "/readyz") as response:  # still listening, no longer ready
            assert (response.status, await response.json()) == (503, {"status": "draining"})
        async with http.get(one.base_url + "/healthz") as response:
            assert response.status == 200
        held.set()  # A's run goes on: its claim was handed back, so it commits nothing
        assert await asyncio.to_thread(one.process.wait, 30) == 0
        await slack.settle(1.0)
    finally:
        held.set()
        one.stop()
        two.stop()

    print(f"\nhand-over: the job was delivered by the other replica {handed_over:.2f}s after SIGTERM")
    assert reminder[0].client == "b"
    assert "payments@2.4.0" in reminder[0].text_everywhere
    assert len(slack.posts("U0BOB")) == 1  # exactly once
    assert handed_over < 5 < JOB_LEASE  # handed back at once, not left to the lease
    job = await the_job(database_url)
    assert (job.status, job.claimed_by) == ("pending", None)  # waiting for its next round
    assert job.due_at > utcnow()


async def test_outbox_messages_claimed_and_not_tried_go_to_the_other_replica(
    database_url: str, slack: FakeSlack, policy: Policy
) -> None:
    one = Runtime(make_settings(database_url, slack, slack_api_url=slack.url_for("a")), policy)
    two = Runtime(make_settings(database_url, slack, slack_api_url=slack.url_for("b")), policy)
    db = Database(database_url)
    held = asyncio.Event()
    slack.fail("chat.postMessage", Fault(status=200, until=held, client="a"))  # A's first send hangs
    try:
        async with db.transaction() as session:
            for n in range(3):
                outbox.enqueue(session=session, team_id=TEAM_ID, kind="post", channel=f"C0N{n}", payload={"text": "x"})
        await one.start()
        for _ in range(100):  # A claimed all three and is sending the first
            if slack.attempts.get("chat.postMessage"):
                break
            await asyncio.sleep(0.05)
        await two.start()
        await asyncio.sleep(0.3)
        assert slack.posts() == []  # B finds nothing to take: A holds the claims for its lease (60 s)

        one.begin_drain()
        sent = await slack.wait_for("chat.postMessage", count=2, timeout=10)
        assert sorted((c.client, c.get("channel")) for c in sent) == [("b", "C0N1"), ("b", "C0N2")]
        held.set()  # A's send in progress finishes: it was A's to send, once
        await slack.wait_for("chat.postMessage", lambda c: c.client == "a", timeout=10)
        await slack.settle(0.5)
    finally:
        held.set()
        await asyncio.gather(one.stop(), two.stop())
    assert sorted(c.get("channel") for c in slack.posts()) == ["C0N0", "C0N1", "C0N2"]
    try:
        async with db.read() as session:
            rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    finally:
        await db.dispose()
    assert [(m.status, m.claimed_until) for m in rows] == [("sent", None)] * 3


async def test_work_in_flight_at_sigterm_finishes_before_the_process_exits(
    database_url: str, slack: FakeSlack, tmp_path: Path, http: ClientSession
) -> None:
    policy = tmp_path / "shipmate.toml"
    policy.write_text(FAST_POLICY)
    held = asyncio.Event()
    slack.fail("views.open", Fault(status=200, until=held))  # the modal opens after the ack, and Slack is slow
    env = {"SHIPMATE_DRAIN_SECONDS": "0.2", "SHIPMATE_SLACK_TIMEOUT": "30"}
    app = AppProcess(database_url=database_url, slack_url=slack.url, policy=policy, extra_env=env)
    try:
        await app.start()
        assert app.process is not None
        harness = Harness(app.base_url, http, slack)
        assert (await harness.command("propose")).status == 200  # acked; the listener goes on
        for _ in range(100):
            if slack.attempts.get("views.open"):
                break
            await asyncio.sleep(0.05)
        app.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(1.0)  # past the drain: no longer listening, still finishing what it accepted
        assert app.process.poll() is None
        held.set()
        assert await asyncio.to_thread(app.process.wait, 30) == 0
    finally:
        held.set()
        app.stop()
    assert len(slack.of("views.open")) == 1
