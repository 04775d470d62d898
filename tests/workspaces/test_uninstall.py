"""A workspace removes Shipmate: its tokens go, its unsent messages, jobs and deployer requests are dropped (each
audited), nothing more is sent for it from the next outbox sweep on, and the other workspace goes on as before.
Its history stays."""

from datetime import timedelta

from sqlmodel import col, select

from bot.server import Runtime
from storage.models import AuditEvent, OutboxMessage, ScheduledJob
from storage.types import utcnow
from tests.fakes.signing import event_payload
from tests.fakes.slack_api import FakeSlack
from tests.harness import Harness
from tests.workspaces.support import command, install, stored, uninstall


async def owe_a_message(runtime: Runtime, team_id: str, text: str, *, later: bool = False) -> int:
    """A message owed to a workspace: due now, or (`later`) not before the test is over."""
    due = utcnow() + timedelta(days=1) if later else utcnow()
    message = OutboxMessage(
        team_id=team_id, kind="post", channel="C0RELEASE", payload={"text": text}, next_attempt_at=due
    )
    async with runtime.db.transaction() as session:
        session.add(message)
        await session.flush()
        owed = message.id
    runtime.dispatcher.kick()
    return int(owed or 0)


async def test_uninstalling_one_workspace_drops_its_work_and_keeps_the_others(
    harness: Harness, runtime: Runtime, slack: FakeSlack, database_url: str
) -> None:
    await install(harness, "T0AAA")
    await install(harness, "T0BBB")
    await command(harness, "propose payments 2.4.0 Faster checkout", team_id="T0AAA")
    await command(harness, "propose billing 1.0.0 Invoices", team_id="T0BBB")
    await slack.wait_for("chat.postMessage", count=2)
    waiting = await owe_a_message(runtime, "T0AAA", "owed before the uninstall", later=True)
    async with runtime.db.read() as session:
        jobs_before = (await session.exec(select(ScheduledJob).where(ScheduledJob.team_id == "T0AAA"))).all()

    answer = await uninstall(harness, "T0AAA")
    assert answer.status == 200, answer.text

    assert await stored(database_url, "SELECT team_id FROM slack_bots") == [("T0BBB",)]
    assert await stored(database_url, "SELECT team_id FROM slack_installations") == [("T0BBB",)]
    async with runtime.db.read() as session:
        row = await session.get(OutboxMessage, waiting)
        assert row is not None
        assert row.status == "superseded"
        assert "app uninstalled" in row.last_error
        live = (
            await session.exec(
                select(ScheduledJob).where(
                    ScheduledJob.team_id == "T0AAA", col(ScheduledJob.status).in_(("pending", "claimed"))
                )
            )
        ).all()
        assert live == []
        of_a = select(AuditEvent).where(AuditEvent.team_id == "T0AAA")
        dropped = (await session.exec(of_a.where(AuditEvent.action == "work_dropped"))).one()
        assert dropped.actor_id == "slack"
        assert dropped.details["messages"] == {"post": 1}
        assert sum(dropped.details["jobs"].values()) == len([j for j in jobs_before if j.status == "pending"])
        history = (await session.exec(of_a.where(AuditEvent.action == "proposed"))).all()
        assert len(history) == 1  # kept until `shipmate team purge`

    # Owed after the uninstall: never sent, closed at its first sweep. The other workspace is served as before.
    posts_before = len(slack.posts())
    late = await owe_a_message(runtime, "T0AAA", "owed after the uninstall")
    await command(harness, "propose billing 1.1.0 Credit notes", team_id="T0BBB")
    await slack.wait_for("chat.postMessage", lambda call: "1.1.0" in call.text_everywhere)
    await slack.settle()
    async with runtime.db.read() as session:
        row = await session.get(OutboxMessage, late)
        assert row is not None
        assert row.status == "superseded"
    assert all("owed" not in post.text_everywhere for post in slack.posts())
    assert len(slack.posts()) == posts_before + 1


async def revoked(harness: Harness, team_id: str, tokens: dict[str, list[str]]) -> int:
    payload = event_payload({"type": "tokens_revoked", "tokens": tokens}, team_id=team_id, event_id="Ev0REVOKED")
    payload["authorizations"] = []
    return (await harness.deliver("events_api", payload)).status


async def test_revoked_people_tokens_leave_the_work_alone_and_a_revoked_bot_token_stops_it(
    harness: Harness, runtime: Runtime, database_url: str
) -> None:
    await install(harness, "T0AAA")
    waiting = await owe_a_message(runtime, "T0AAA", "owed", later=True)

    assert await revoked(harness, "T0AAA", {"oauth": ["U0INSTALLER"]}) == 200
    assert await stored(database_url, "SELECT team_id FROM slack_bots") == [("T0AAA",)]
    async with runtime.db.read() as session:
        row = await session.get(OutboxMessage, waiting)
        assert row is not None
        assert row.status == "pending"

    assert await revoked(harness, "T0AAA", {"bot": ["U0BOT"]}) == 200
    assert await stored(database_url, "SELECT team_id FROM slack_bots") == []
    assert await stored(database_url, "SELECT bot_token FROM slack_installations") == [(None,)]
    async with runtime.db.read() as session:
        row = await session.get(OutboxMessage, waiting)
        assert row is not None
        assert row.status == "superseded"


async def test_an_organisation_uninstalling_stops_every_workspace_it_served(
    harness: Harness, runtime: Runtime, slack: FakeSlack, database_url: str
) -> None:
    await install(harness, None, enterprise_id="E0ORG", org_wide=True)
    await command(harness, "propose payments 1.0.0 One", team_id="T0ORG1", enterprise_id="E0ORG")
    await command(harness, "propose payments 2.0.0 Two", team_id="T0ORG2", enterprise_id="E0ORG")
    await slack.wait_for("chat.postMessage", count=2)
    first = await owe_a_message(runtime, "T0ORG1", "owed one", later=True)
    second = await owe_a_message(runtime, "T0ORG2", "owed two", later=True)

    assert (await uninstall(harness, "T0ORG1", enterprise_id="E0ORG", org_wide=True)).status == 200

    assert await stored(database_url, "SELECT count(*) FROM slack_bots") == [(0,)]
    async with runtime.db.read() as session:
        for owed in (first, second):
            row = await session.get(OutboxMessage, owed)
            assert row is not None
            assert row.status == "superseded"
        dropped = (await session.exec(select(AuditEvent).where(AuditEvent.action == "work_dropped"))).all()
    assert sorted(event.team_id for event in dropped) == ["T0ORG1", "T0ORG2"]
