"""PostgreSQL's quick reads run their selects on asyncpg itself (`storage/pg_rows.py`): each repository read gives
exactly what it gives through the engine (the same rows, statuses as `Status`, times as aware datetimes, JSON
decoded, arrays of rows). A transaction's writes: `tests/storage/test_direct_writes.py`."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import InvalidRequestError, StatementError

from bot.domain.lifecycle import OPEN, Status
from bot.domain.release_notes import Notes, Standing
from storage.db import Database, Rows
from storage.models import Approval, Deployment, OutboxMessage, Release
from storage.pg_rows import DirectRows
from storage.repositories import approvals, home, outbox_claims, release_notes, releases, shown

TEAM = "T0TEAM"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

Read = Callable[[Rows], Awaitable[Any]]


@pytest.fixture
async def pg(db: Database) -> Database:
    if not db.is_postgres:
        pytest.skip("asyncpg's own reads are PostgreSQL's")
    return db


async def _seed(db: Database) -> int:
    async with db.transaction() as session:
        release = Release(
            team_id=TEAM, proposer_id="U0ALICE", channel_id="C0RELEASE", service="payments", version="2.4.0",
            summary="Faster <!channel> checkout", changes="New cache", rollback_plan="Roll back", risk="high",
            status=Status.IN_PROGRESS, commit_sha="a" * 40, scope_authors="U0ALICE",
            window_start=NOW + timedelta(days=1), window_end=NOW + timedelta(days=1, hours=2),
        )  # fmt: skip
        session.add(release)
        session.add(Release(team_id="T0OTHER", proposer_id="U0EVE", channel_id="C0", service="payments",
                            version="9.9.9", summary="Not yours", status=Status.PROPOSED))  # fmt: skip
        await session.flush()
        assert release.id is not None
        session.add(Approval(team_id=TEAM, release_id=release.id, environment="prod", user_id="U0BOB",
                             decision="approve"))  # fmt: skip
        session.add(Deployment(team_id=TEAM, release_id=release.id, service="payments", version="2.4.0",
                               environment="dev", outcome="succeeded", actor_id="U0ALICE"))  # fmt: skip
        session.add(OutboxMessage(team_id=TEAM, kind="post", channel="C1", payload={"text": "hi"}))
        notes = Notes("b" * 40, "a" * 40, Standing.AHEAD, 0, "https://github.com/acme/payments/compare/b...a")
        await release_notes.store(session=session, team_id=TEAM, release_id=release.id, notes=notes)
        return release.id


def _reads(release_id: int) -> dict[str, Read]:
    return {
        "card rows (one trip)": lambda rows: shown.card_rows(
            session=rows, team_id=TEAM, service="payments", version="2.4.0"
        ),
        "card parts": lambda rows: shown.card_parts(session=rows, team_id=TEAM, release_id=release_id),
        "list": lambda rows: releases.recent_lines(session=rows, team_id=TEAM, limit=16),
        "list of a service": lambda rows: releases.recent_lines(session=rows, team_id=TEAM, service="payments"),
        "decisions (IN list)": lambda rows: approvals.decisions_of(
            session=rows, team_id=TEAM, release_ids=[release_id, release_id + 1]
        ),
        "notes' brief (JSON)": lambda rows: release_notes.brief_of(session=rows, team_id=TEAM, release_id=release_id),
        "App Home's own (one trip)": lambda rows: home.own(
            session=rows, team_id=TEAM, user_id="U0ALICE", statuses=OPEN, at=NOW
        ),
        "the outbox's look for due rows": lambda rows: outbox_claims.has_due(session=rows, kinds=["post"]),
        "no such release": lambda rows: shown.card_rows(session=rows, team_id=TEAM, service="payments", version="0"),
    }


async def test_each_read_gives_what_it_gives_through_the_engine(pg: Database) -> None:
    release_id = await _seed(pg)
    for name, read in _reads(release_id).items():
        async with pg.quick_engine.connect() as connection:
            through_engine = await read(connection)
        for time in ("first", "second"):  # a statement is planned the second time it runs
            async with pg.quick_rows() as rows:
                assert isinstance(rows, DirectRows)
                direct = await read(rows)
            assert direct == through_engine, (name, time)
            assert repr(direct) == repr(through_engine), (name, time)  # the same types: Status, aware datetimes, Notes
        assert isinstance(rows, DirectRows)
        assert rows._driver is not None, f"{name}: went through the engine the second time too"
    async with pg.quick_rows() as rows:
        card = await shown.card_rows(session=rows, team_id=TEAM, service="payments", version="2.4.0")
    assert card is not None
    assert card.release.status is Status.IN_PROGRESS
    assert card.release.window_start == NOW + timedelta(days=1)
    assert [(d.user_id, d.decision) for d in card.decided] == [("U0BOB", "approve")]


async def test_text_goes_through_the_engine_and_so_does_everything_while_someone_listens(pg: Database) -> None:
    await _seed(pg)
    seen: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    async with pg.quick_rows() as rows:
        assert (await rows.execute(text("SELECT 1"))).scalar() == 1
        assert isinstance(rows, DirectRows)
        assert rows._driver is None

    engine = pg.quick_engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        async with pg.quick_rows() as rows:
            lines = await releases.recent_lines(session=rows, team_id=TEAM)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert [line.version for line in lines] == ["2.4.0"]  # this workspace's only
    assert len(seen) == 1
    assert "FROM releases" in seen[0]


async def test_a_missing_parameter_is_an_error_not_a_null(pg: Database) -> None:
    async with pg.quick_rows() as rows:
        # A statement is planned the second time it runs with the same names: the first run here may go through
        # the engine (its `StatementError`), the second always runs on asyncpg, and must not send a NULL either.
        for _ in range(2):
            with pytest.raises((StatementError, InvalidRequestError), match="team_id") as raised:
                await rows.execute(releases._RECENT_LINES, {"limit": 1})
    assert isinstance(raised.value, InvalidRequestError)
