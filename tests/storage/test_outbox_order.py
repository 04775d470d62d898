"""Outbox claims keep a release's messages in order without ever waiting on each other in a circle."""

import contextlib
import sqlite3
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


async def test_a_claim_reads_the_oldest_pending_rows_in_order_whatever_the_backlog(
    db: Database, database_url: str
) -> None:
    """The claim's plan on SQLite: the pending rows' ids in order (`ix_outbox_due`), read until the batch is full,
    not every due row sorted (which made each claim cost as much as the backlog was long)."""
    async with db.transaction() as session:
        for n in range(120):
            outbox.enqueue(session=session, team_id=TEAM, kind="post", channel="C0R", payload={"n": n})
    async with db.write_rows() as rows:
        first = await claims.claim(session=rows, limit=50, lease=LEASE, fair=False)
        await claims.mark_all_sent(session=rows, token=first[0].claim_token, sent={m.id or 0: None for m in first})
    async with db.write_rows() as rows:
        second = await claims.claim(session=rows, limit=50, lease=LEASE, fair=False)
    assert [m.payload["n"] for m in second] == list(range(50, 100))  # past the sent ones, oldest first
    if not database_url.startswith("sqlite"):
        return  # PostgreSQL's plan depends on its statistics
    statement = claims._claim(None, False).compile(db.engine.sync_engine)  # as the writer writes it
    arguments = [None for _ in statement.positiontup or ()]
    with contextlib.closing(sqlite3.connect(database_url.split("///", 1)[1])) as connection:
        steps = [str(row[-1]) for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", arguments)]
    assert "SCAN outbox USING INDEX ix_outbox_due" in steps, steps
    assert not any("TEMP B-TREE" in step for step in steps), steps
