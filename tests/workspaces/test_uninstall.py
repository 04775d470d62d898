"""A workspace removes Shipmate: its tokens go, its unsent messages, jobs and deployer requests are dropped (each
audited), nothing more is sent for it from the next outbox sweep on, and the other workspace goes on as before.
Its history stays."""

from sqlmodel import col, select

from bot.server import Runtime
from storage.models import AuditEvent, OutboxMessage, ScheduledJob
from storage.repositories import outbox
from storage.types import utcnow
from tests.fakes.slack_api import FakeSlack
from tests.harness import Harness
from tests.workspaces.support import command, install, stored, uninstall


async def owe_a_message(runtime: Runtime, team_id: str, text: str, *, later: bool = False) -> int:
    async with runtime.db.transaction() as session:
        outbox.enqueue(session=session, team_id=team_id, kind="post", channel="C0RELEASE", payload={"text": text})
    async with runtime.db.read() as session:
        row = (
            await session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.payload).is_not(None))
                .order_by(col(OutboxMessage.id).desc())
            )
        ).first()
        assert row is not None
    if later:
        async with runtime.db.transaction() as session:
            await session.exec(
                OutboxMessage.__table__.update()  # type: ignore[attr-defined]
                .where(OutboxMessage.__table__.c.id == row.id)  # type: ignore[attr-defined]
                .values(next_attempt_at=utcnow().replace(year=2100))
            )
    runtime.dispatcher.kick()
    return int(row.id or 0)


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
