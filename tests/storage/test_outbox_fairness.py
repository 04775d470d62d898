"""One workspace's flood of messages does not hold up another's: each workspace with messages due gets its share
of every claim."""

from datetime import timedelta

from storage.db import Database
from storage.repositories import outbox
from storage.repositories import outbox_claims as claims

LEASE = timedelta(seconds=30)


async def test_a_claim_shares_its_batch_between_the_workspaces_with_messages_due(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            for n in range(200):
                outbox.enqueue(session=session, team_id="T0FLOOD", kind="post", channel="C1", payload={"n": n})
            for n in range(3):
                outbox.enqueue(session=session, team_id="T0QUIET", kind="post", channel="C2", payload={"n": n})
        async with db.transaction() as session:
            claimed = await claims.claim(session=session, limit=10, lease=LEASE)
        by_team = [message.team_id for message in claimed]
        assert by_team.count("T0QUIET") == 3
        assert by_team.count("T0FLOOD") == 5
        assert [m.payload["n"] for m in claimed if m.team_id == "T0FLOOD"] == [0, 1, 2, 3, 4]  # oldest first
    finally:
        await db.dispose()


async def test_one_workspace_takes_the_whole_batch(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            for n in range(20):
                outbox.enqueue(session=session, team_id="T0ONLY", kind="post", channel="C1", payload={"n": n})
        async with db.transaction() as session:
            claimed = await claims.claim(session=session, limit=10, lease=LEASE)
        assert [m.payload["n"] for m in claimed] == list(range(10))
    finally:
        await db.dispose()
