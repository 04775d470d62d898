"""A workspace whose Slack is failing right now (an outage, timeouts) does not hold up another workspace's
messages in the same sweep: after its first transient failure the rest of its batch waits for the next sweep."""

from datetime import timedelta

from sqlmodel import col, select

from bot.notify.dispatcher import Dispatcher
from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import outbox
from tests.fakes.senders import PostSender


class OutageIn(PostSender):
    """A Slack sender whose calls for one workspace time out."""

    def __init__(self, team_id: str) -> None:
        self.down = team_id
        self.tried: list[str] = []

    async def send(self, message: OutboxMessage) -> str | None:
        self.tried.append(f"{message.team_id}:{message.payload['n']}")
        if message.team_id == self.down:
            raise TimeoutError("no answer within 10 s")
        return "1700000000.000001"


async def test_one_workspaces_outage_costs_the_others_nothing(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            for n in range(3):
                outbox.enqueue(session=session, team_id="T0DOWN", kind="post", channel="C1", payload={"n": n})
            for n in range(3):
                outbox.enqueue(session=session, team_id="T0FINE", kind="post", channel="C2", payload={"n": n})
        sender = OutageIn("T0DOWN")
        dispatcher = Dispatcher(db, sender, lease=timedelta(seconds=30), poll_interval=1)
        assert await dispatcher.dispatch_once() == 6

        assert sender.tried == ["T0DOWN:0", "T0FINE:0", "T0FINE:1", "T0FINE:2"]
        async with db.read() as session:
            rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
        state = {(row.team_id, row.payload["n"]): (row.status, row.attempts) for row in rows}
        assert state[("T0FINE", 0)] == ("sent", 0)
        assert state[("T0DOWN", 0)] == ("pending", 1)  # failed once, backing off
        assert state[("T0DOWN", 1)] == ("pending", 0)  # not tried: waits for the next sweep, no attempt spent
    finally:
        await db.dispose()
