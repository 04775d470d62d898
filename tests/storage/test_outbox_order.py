"""Outbox claims keep a release's messages in order without ever waiting on each other in a circle."""

from datetime import timedelta

from storage.db import Database
from storage.models import Release
from storage.repositories import outbox
from storage.repositories import outbox_claims as claims

TEAM = "T0TEAM"
LEASE = timedelta(seconds=30)


async def _release(db: Database) -> int:
    async with db.transaction() as session:
        release = Release(
            team_id=TEAM, service="payments", version="2.4.0", summary="s", proposer_id="U0A", channel_id="C0R"
        )
        session.add(release)
        await session.flush()
        return release.pk


async def test_a_newer_card_is_not_stuck_behind_a_thread_line_waiting_for_it(database_url: str) -> None:
    db = Database(database_url)
    try:
        release_id = await _release(db)
        async with db.transaction() as session:
            outbox.enqueue(session=session, team_id=TEAM, kind="card", release_id=release_id, payload={"text": "1"})
            outbox.enqueue(session=session, team_id=TEAM, kind="thread", release_id=release_id, payload={"text": "t"})
            await session.flush()
            await outbox.supersede_cards(session=session, team_id=TEAM, release_id=release_id)
            outbox.enqueue(session=session, team_id=TEAM, kind="card", release_id=release_id, payload={"text": "2"})
        async with db.transaction() as session:
            claimed = await claims.claim(session=session, limit=10, lease=LEASE)
        kinds = [(m.kind, m.payload["text"]) for m in claimed]
        assert ("card", "2") in kinds
        assert ("card", "1") not in kinds
        assert ("thread", "t") in kinds  # claimable; the dispatcher defers it until the card has a ts

        async with db.transaction() as session:  # while card 2 is in flight, a card 3 must wait for it
            outbox.enqueue(session=session, team_id=TEAM, kind="card", release_id=release_id, payload={"text": "3"})
        async with db.transaction() as session:
            assert list(await claims.claim(session=session, limit=10, lease=LEASE)) == []
    finally:
        await db.dispose()
