"""Planning the weekly digest: on with `[metrics] digest`, in its own time zone; off without it or without a
stakeholder channel; a proposal plans it for a new workspace; and a digest Slack cannot show with its chart goes
out in words (the dispatcher's fallback)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.domain.policy import parse_policy
from bot.domain.proposal import ProposeRequest
from bot.notify.dispatcher import Dispatcher
from bot.notify.slack_clients import SlackClients
from bot.notify.slack_sender import SlackSender
from bot.render import FALLBACK
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.metrics import metrics_digest
from bot.services.releases import releases
from bot.settings import Settings
from bot.slack_app import web_client
from storage.db import Database
from storage.models import OutboxMessage, ScheduledJob
from storage.repositories import outbox
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack

TEAM = "T0TEAM"
BASE = """
[slack]
coordination_channel = "C0RELEASE"
stakeholder_channel = "C0STAKE"
[[environments]]
name = "prod"
"""
NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)  # a Wednesday; Berlin is on CET until the 29th


def context(db: Database, policy_text: str) -> ServiceContext:
    settings = Settings(_env_file=None, database_url=db.url)
    return ServiceContext(db=db, policy=parse_policy(policy_text), settings=settings, now=lambda: NOW)


async def digest_jobs(db: Database) -> list[ScheduledJob]:
    async with db.read() as session:
        return list((await session.exec(select(ScheduledJob).where(col(ScheduledJob.kind) == "metrics_digest"))).all())


@pytest.mark.parametrize(
    ("metrics", "due"),
    [
        ('[metrics]\ndigest = "mon 09:00"\ntimezone = "Europe/Berlin"', datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),
        ('[metrics]\ndigest = "fri 17:30"', datetime(2026, 3, 27, 17, 30, tzinfo=UTC)),  # the policy's zone: UTC
        ("", None),  # off when absent
    ],
)
async def test_a_proposal_plans_the_workspace_digest(db: Database, metrics: str, due: datetime | None) -> None:
    ctx = context(db, BASE + metrics)
    for version in ("1.0", "1.1"):  # the second proposal keeps the planned digest as it is
        await releases.propose(ctx, Actor(TEAM, "U0ALICE"), ProposeRequest("payments", version, "x"))
    found = await digest_jobs(db)
    assert [(job.due_at, job.target, job.status) for job in found] == ([(due, "C0STAKE", "pending")] if due else [])


async def test_no_stakeholder_channel_means_no_digest(db: Database) -> None:
    ctx = context(db, '[slack]\ncoordination_channel = "C0RELEASE"\n[metrics]\ndigest = "mon 09:00"\n')
    await releases.propose(ctx, Actor(TEAM, "U0ALICE"), ProposeRequest("payments", "1.0", "x"))
    await metrics_digest.plan_all(ctx)
    assert await digest_jobs(db) == []


async def test_starting_plans_every_workspace_with_releases(db: Database) -> None:
    quiet = context(db, BASE)
    for team in ("T0ONE", "T0TWO"):
        await releases.propose(quiet, Actor(team, "U0ALICE"), ProposeRequest("payments", "1.0", "x"))
    assert await digest_jobs(db) == []  # the digest was off then
    await metrics_digest.plan_all(context(db, BASE + '[metrics]\ndigest = "mon 09:00"'))
    assert sorted(job.team_id for job in await digest_jobs(db)) == ["T0ONE", "T0TWO"]


async def test_a_refused_image_is_sent_again_as_words(database_url: str, slack: FakeSlack) -> None:
    db = Database(database_url)
    client = web_client(make_settings(database_url, slack))
    file_id = (await client.files_upload_v2(file=b"\x89PNG-not-really", filename="c.png", title="c"))["file"]["id"]
    words = {"text": "Weekly delivery digest", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]}
    image = {"type": "image", "slack_file": {"id": file_id}, "alt_text": "chart"}
    slack.files_visible = False  # Slack has the file but will not show it yet
    try:
        async with db.transaction() as session:
            payload = {**words, "blocks": [*words["blocks"], image], FALLBACK: words}
            outbox.enqueue(session=session, team_id=TEAM, kind="post", channel="C0STAKE", payload=payload)
        dispatcher = Dispatcher(db, SlackSender(db, SlackClients(client)), lease=timedelta(seconds=30), poll_interval=1)
        assert await dispatcher.dispatch_once() == 1
        async with db.read() as session:
            sent = (await session.exec(select(OutboxMessage))).one()
    finally:
        await db.dispose()
    assert sent.status == "sent"
    posts = slack.posts("C0STAKE")
    assert [p["blocks"][-1]["type"] for p in posts] == ["section"]  # the refused one was not recorded as sent
    assert slack.invalid  # Slack refused the first attempt
    slack.invalid.clear()
