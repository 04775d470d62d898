"""PostgreSQL's core statements run on asyncpg itself (`storage/pg_rows.py`): each repository read gives exactly
what it gives through the engine (the same rows, statuses as `Status`, times as aware datetimes, JSON decoded,
arrays of rows); in a transaction, once it has begun, writes do too, with their row counts, asyncpg's errors as
SQLAlchemy's, and whatever the engine's execution adds (defaults computed in Python) left to the engine."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from bot.domain.lifecycle import OPEN, Status
from bot.domain.release_notes import Notes, Standing
from bot.services.evidence import chain_check
from storage import pg_rows
from storage.db import Database, Rows, rows_of
from storage.models import Approval, Deployment, OutboxMessage, Release
from storage.models.tables import APPROVALS
from storage.pg_rows import DirectRows
from storage.repositories import appends, approvals, audit, home, outbox_claims, release_notes, releases, shown
from storage.repositories.audit import AUDIT_EVENTS

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
        with pytest.raises(InvalidRequestError, match="team_id"):
            await rows.execute(releases._RECENT_LINES, {"limit": 1})


async def _written_on_asyncpg(db: Database, write: Callable[[Rows], Awaitable[Any]]) -> list[Any]:
    """Run `write` in two transactions (the second runs it planned), each after a first statement has begun the
    transaction; what each gave back."""
    given = []
    for _ in range(2):
        async with db.transaction() as session:
            rows = await rows_of(session)
            assert isinstance(rows, DirectRows)
            await rows.execute(text("SELECT 1"))  # through the engine, which begins the transaction
            given.append(await write(rows))
    assert isinstance(rows, DirectRows)
    assert rows.transaction
    assert rows._driver is not None
    return given


async def test_a_transactions_writes_run_on_asyncpg_with_their_row_counts(pg: Database) -> None:
    release_id = await _seed(pg)
    decision = approvals.NewDecision(TEAM, release_id, "qa", "U0CAROL", "approve", "", "h", 1)
    invalidate = update(APPROVALS).where(APPROVALS.c.release_id == bindparam("release"))
    invalidate = invalidate.values(invalidated_at=bindparam("at"))

    async def approve_then_invalidate(rows: Rows) -> int:
        await rows.execute(approvals._INSERT, {**decision._asdict(), "created_at": NOW, "invalidated_at": None})
        result = await rows.execute(invalidate, {"release": release_id, "at": NOW})
        return int(result.rowcount)

    assert await _written_on_asyncpg(pg, approve_then_invalidate) == [2, 3]  # U0BOB's, then both of U0CAROL's
    async with pg.read() as session:
        rows = (await (await rows_of(session)).execute(select(APPROVALS.c.user_id, APPROVALS.c.invalidated_at))).all()
    assert sorted(rows) == [("U0BOB", NOW), ("U0CAROL", NOW), ("U0CAROL", NOW)]


async def test_a_duplicate_on_asyncpg_is_sqlalchemys_integrity_error_and_rolls_back(pg: Database) -> None:
    """What concurrent clicks meet (`approvals.add` of a second active decision): the error the services catch, and
    nothing of the transaction is kept."""
    release_id = await _seed(pg)
    carol = approvals.NewDecision(TEAM, release_id, "qa", "U0CAROL", "approve", "", "h", 1)
    dave = carol._replace(user_id="U0DAVE")
    others = iter(["U0ERIN", "U0FRANK"])
    await _written_on_asyncpg(
        pg, lambda rows: rows.execute(approvals._INSERT, _row(carol._replace(user_id=next(others))))
    )

    async def clash() -> None:
        async with pg.transaction() as session:
            rows = await rows_of(session)
            await rows.execute(approvals._INSERT, _row(dave))  # begins the transaction, through the engine
            await rows.execute(approvals._INSERT, _row(carol))
            await rows.execute(approvals._INSERT, _row(carol))

    with pytest.raises(IntegrityError) as raised:
        await clash()
    assert isinstance(raised.value.orig, asyncpg.UniqueViolationError)
    async with pg.read() as session:
        users = (await (await rows_of(session)).execute(select(APPROVALS.c.user_id, APPROVALS.c.environment))).all()
    assert sorted(users) == [("U0BOB", "prod"), ("U0ERIN", "qa"), ("U0FRANK", "qa")]


def _row(decision: approvals.NewDecision) -> dict[str, Any]:
    return {**decision._asdict(), "created_at": NOW, "invalidated_at": None}


async def test_rows_appended_at_commit_go_on_asyncpg_in_one_chain(pg: Database) -> None:
    """The audit trail's appends: several rows at once (asyncpg's executemany), linked into the workspace's chain
    after its head, read on asyncpg too."""
    await _seed(pg)
    for batch in range(3):
        async with pg.transaction() as session:
            await (await rows_of(session)).execute(text("SELECT 1"))  # the rows the commit's appends run on
            for n in range(3):
                audit.append(session, TEAM, "U0ALICE", "note", details={"batch": batch, "n": n})
    plans = pg_rows._plans[appends._INSERTS[AUDIT_EVENTS]]
    assert any(isinstance(plan, pg_rows._Plan) for plan in plans.values())
    async with pg.read() as session:
        trail = select(AUDIT_EVENTS.c.details).where(AUDIT_EVENTS.c.team_id == TEAM).order_by(AUDIT_EVENTS.c.id)
        details = (await (await rows_of(session)).execute(trail)).scalars().all()
    assert details == [{"batch": b, "n": n} for b in range(3) for n in range(3)]
    verdict = await chain_check.verify(pg, TEAM)
    assert verdict.broken is None
    assert verdict.events == 9


async def test_what_the_engines_execution_adds_is_left_to_it(pg: Database) -> None:
    """An INSERT whose column has a default computed in Python, and one that returns rows, go through the engine
    every time: asyncpg alone would write NULL, or give nothing back."""
    table = Table(
        "direct_defaults",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("note", String),
        Column("at", DateTime(timezone=True), default=lambda: NOW),
    )
    returning = insert(table).returning(table.c.id)
    async with pg.transaction() as session:
        connection = await session.connection()
        await connection.run_sync(lambda sync: table.create(sync))
        rows = await rows_of(session)
        for n in range(3):
            await rows.execute(insert(table), {"note": f"plain {n}"})
        statement = insert(table)
        for n in range(3):
            await rows.execute(statement, {"note": f"built once {n}"})
            assert (await rows.execute(returning, {"note": "returning", "at": NOW})).scalar_one() > 0
        written = (await rows.execute(select(table.c.note, table.c.at).order_by(table.c.id))).all()
        await connection.run_sync(lambda sync: table.drop(sync))
    assert [at for _note, at in written] == [NOW] * 9
