"""The weekly delivery digest with two app runtimes (each with its scheduler and dispatcher) on one database: it is
posted once to the stakeholder channel, with one chart uploaded, and its job waits for next week's slot."""

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.domain.policy import Policy
from bot.domain.reminders import Kind, digest_key, next_weekly
from bot.server import Runtime
from bot.settings import Settings
from storage.db import Database
from storage.models import Deployment, Release, ScheduledJob
from storage.repositories import jobs
from storage.types import utcnow
from tests.fakes.slack_api import TEAM_ID, FakeSlack

STAKEHOLDERS = "C0STAKE"
POLICY = """
release_managers = ["U0RM"]
timezone = "Europe/Berlin"

[slack]
coordination_channel = "C0RELEASE"
stakeholder_channel = "C0STAKE"

[[environments]]
name = "qa"

[[environments]]
name = "prod"

[metrics]
digest = "mon 09:00"
timezone = "UTC"
"""


@pytest.fixture
def policy_text() -> str:
    return POLICY


async def _seed(database_url: str) -> datetime:
    """Three releases of payments reached prod in the last days (2.1 was rolled back); search shipped one."""
    now = utcnow()
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            shipped = [("payments", "2.0", 5, False), ("payments", "2.1", 4, True), ("payments", "2.2", 3, False),
                       ("search", "7.1", 2, False)]  # fmt: skip
            for n, (service, version, ago, rolled_back) in enumerate(shipped):
                at = now - timedelta(days=ago)
                release = Release(
                    team_id=TEAM_ID, service=service, version=version, summary="s", proposer_id="U0ALICE",
                    channel_id="C0RELEASE", created_at=at - timedelta(hours=3), updated_at=at,
                )  # fmt: skip
                session.add(release)
                await session.flush()
                session.add(
                    Deployment(
                        team_id=TEAM_ID, release_id=release.pk, service=service, version=version, environment="prod",
                        actor_id="ci", created_at=at, rolled_back_at=at + timedelta(hours=1) if rolled_back else None,
                        delivery_id=f"d{n}",
                    )
                )  # fmt: skip
            await jobs.ensure(
                session=session,
                team_id=TEAM_ID,
                kind=Kind.METRICS_DIGEST,
                dedupe_key=digest_key("mon 09:00", "UTC"),
                due_at=now - timedelta(seconds=1),
                target=STAKEHOLDERS,
            )
            await jobs.ensure(  # a schedule the policy no longer has: dropped, never posted
                session=session,
                team_id=TEAM_ID,
                kind=Kind.METRICS_DIGEST,
                dedupe_key=digest_key("fri 16:00", "UTC"),
                due_at=now - timedelta(seconds=1),
                target=STAKEHOLDERS,
            )
    finally:
        await db.dispose()
    return now


@pytest.mark.fault
async def test_two_processes_post_the_weekly_digest_once(
    settings: Settings, policy: Policy, slack: FakeSlack, database_url: str
) -> None:
    seeded = await _seed(database_url)
    runtimes = [Runtime(settings, policy), Runtime(settings, policy)]
    await asyncio.gather(*(runtime.start() for runtime in runtimes))
    try:
        await slack.wait_for("chat.postMessage", lambda c: c.get("channel") == STAKEHOLDERS, timeout=30)
        await slack.settle(quiet=1.0)
    finally:
        await asyncio.gather(*(runtime.stop() for runtime in runtimes))
    assert not slack.invalid, slack.invalid

    posts = slack.posts(STAKEHOLDERS)
    assert len(posts) == 1
    digest = posts[0]
    assert "Weekly delivery digest" in digest["text"]
    listed = digest["blocks"][1]["text"]["text"]
    assert "• *payments*: 2.0, 2.1 ⚠️, 2.2\n• *search*: 7.1" in listed
    fields = [field["text"] for field in digest["blocks"][2]["fields"]]
    assert fields[0].startswith("*Deployment frequency*\n4.0/week · 🔵 high")
    assert fields[2].startswith("*Change failure rate*\n25%")
    assert fields[3].startswith("*Time to restore*\nmedian 24.0 h")  # 2.1 → 2.2 a day later
    image = next(block for block in digest["blocks"] if block["type"] == "image")
    assert len(slack.of("files.completeUploadExternal")) == 1  # one process drew and uploaded it
    upload = slack.completed_files()[image["slack_file"]["id"]]
    assert upload.data is not None
    assert upload.data.startswith(b"\x89PNG")
    assert "8 weeks to" in image["title"]["text"]

    db = Database(database_url)
    try:
        async with db.read() as session:
            rows = (await session.exec(select(ScheduledJob).where(col(ScheduledJob.kind) == "metrics_digest"))).all()
    finally:
        await db.dispose()
    by_key = {row.dedupe_key: row for row in rows}
    weekly = by_key[digest_key("mon 09:00", "UTC")]
    assert weekly.status == "pending"
    assert weekly.due_at == next_weekly("mon 09:00", ZoneInfo("UTC"), seeded)  # next week's slot
    assert weekly.due_at.strftime("%a %H:%M") == "Mon 09:00"
    assert by_key[digest_key("fri 16:00", "UTC")].status == "dropped"
