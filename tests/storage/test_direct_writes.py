"""A transaction's core statements run on the driver itself once it has begun (`storage/plans.py`; asyncpg in
`storage/pg_rows.py`, sqlite3 in `storage/sqlite_in_loop.py`), on both databases: writes give their row counts, a
duplicate is SQLAlchemy's `IntegrityError` and rolls everything back, the rows appended at commit go in one chain,
and whatever the engine's execution adds (defaults computed in Python, a RETURNING) is left to the engine."""

import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from bot.domain.lifecycle import Status
from bot.services.evidence import chain_check
from storage import plans
from storage.db import Database, Rows, rows_of
from storage.models import Approval, Release
from storage.models.tables import APPROVALS
from storage.pg_rows import DirectRows
from storage.repositories import appends, approvals, audit, jobs, outbox
from storage.repositories.audit import AUDIT_EVENTS
from storage.repositories.outbox import OUTBOX
from storage.sqlite_in_loop import InLoopRows

TEAM = "T0TEAM"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


async def _release(db: Database) -> int:
    async with db.transaction() as session:
        release = Release(
            team_id=TEAM, proposer_id="U0ALICE", channel_id="C0RELEASE", service="payments", version="2.4.0",
            summary="Faster checkout", status=Status.PROPOSED,
        )  # fmt: skip
        session.add(release)
        await session.flush()
        assert release.id is not None
        session.add(Approval(team_id=TEAM, release_id=release.id, environment="prod", user_id="U0BOB",
                             decision="approve"))  # fmt: skip
        return release.id


@pytest.fixture
def on_the_driver(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of each statement run on the driver itself (a planned call's arguments are built only there)."""
    ran: list[str] = []
    arguments = plans.Call.arguments

    def counted(call: plans.Call) -> list[Any]:
        ran.append(call.plan.sql)
        return arguments(call)

    monkeypatch.setattr(plans.Call, "arguments", counted)
    return ran


async def _twice(db: Database, write: Callable[[Rows], Awaitable[Any]], ran: list[str]) -> list[Any]:
    """Run `write` in two transactions (the second runs it planned), each after a first statement has begun the
    transaction; what each gave back. `ran` holds what the second ran on the driver."""
    given = []
    for _ in range(2):
        ran.clear()
        async with db.transaction() as session:
            rows = await rows_of(session)
            assert isinstance(rows, DirectRows | InLoopRows)
            await rows.execute(text("SELECT 1"))  # through the engine, which begins the transaction
            given.append(await write(rows))
    return given


def _row(decision: approvals.NewDecision) -> dict[str, Any]:
    return {**decision._asdict(), "created_at": NOW, "invalidated_at": None}


async def test_a_transactions_writes_run_on_the_driver_with_their_row_counts(
    db: Database, on_the_driver: list[str]
) -> None:
    release_id = await _release(db)
    carol = approvals.NewDecision(TEAM, release_id, "qa", "U0CAROL", "approve", "", "h", 1)
    invalidate = update(APPROVALS).where(APPROVALS.c.release_id == bindparam("release"))
    invalidate = invalidate.values(invalidated_at=bindparam("at"))

    async def approve_then_invalidate(rows: Rows) -> int:
        await rows.execute(approvals._INSERT, _row(carol))
        return int((await rows.execute(invalidate, {"release": release_id, "at": NOW})).rowcount)

    assert await _twice(db, approve_then_invalidate, on_the_driver) == [2, 3]  # Bob's and Carol's, then her 2nd too
    assert [sql.split()[0] for sql in on_the_driver] == ["INSERT", "UPDATE"]
    async with db.read() as session:
        written = (
            await (await rows_of(session)).execute(select(APPROVALS.c.user_id, APPROVALS.c.invalidated_at))
        ).all()
    assert sorted(written) == [("U0BOB", NOW), ("U0CAROL", NOW), ("U0CAROL", NOW)]


async def test_a_jobs_drop_on_the_driver_counts_what_it_dropped(db: Database, on_the_driver: list[str]) -> None:
    """`jobs.drop` (every status change runs it): its INs have a parameter per value, so it is planned too."""
    release_id = await _release(db)
    async with db.transaction() as session:
        for kind in ("window", "review", "regression"):
            await jobs.ensure(
                session=session, team_id=TEAM, kind=kind, release_id=release_id, due_at=NOW, dedupe_key=f"{kind}:1"
            )
    dropped = []
    for _ in range(2):  # planned the second time
        on_the_driver.clear()
        async with db.transaction() as session:
            await (await rows_of(session)).execute(text("SELECT 1"))  # begins the transaction
            dropped.append(
                await jobs.drop(session=session, team_id=TEAM, release_id=release_id, kinds=["window", "review"])
            )
    assert [sql.split()[:2] for sql in on_the_driver] == [["UPDATE", "scheduled_jobs"]]
    assert dropped == [2, 0]
    async with db.transaction() as session:
        assert await jobs.drop(session=session, team_id=TEAM, kinds=[]) == 0
        assert await jobs.drop(session=session, team_id=TEAM, dedupe_keys=["regression:1"]) == 1


async def test_a_duplicate_on_the_driver_is_sqlalchemys_integrity_error_and_rolls_back(
    db: Database, on_the_driver: list[str]
) -> None:
    """What concurrent clicks meet (`approvals.add` of a second active decision): the error the services catch, and
    nothing of the transaction is kept."""
    release_id = await _release(db)
    carol = approvals.NewDecision(TEAM, release_id, "qa", "U0CAROL", "approve", "", "h", 1)
    others = iter(["U0ERIN", "U0FRANK"])
    await _twice(
        db, lambda rows: rows.execute(approvals._INSERT, _row(carol._replace(user_id=next(others)))), on_the_driver
    )
    on_the_driver.clear()

    async def clash() -> None:
        async with db.transaction() as session:
            rows = await rows_of(session)
            await rows.execute(approvals._INSERT, _row(carol._replace(user_id="U0DAVE")))
            await rows.execute(approvals._INSERT, _row(carol))
            await rows.execute(approvals._INSERT, _row(carol))

    with pytest.raises(IntegrityError) as raised:
        await clash()
    assert isinstance(raised.value.orig, asyncpg.UniqueViolationError | sqlite3.IntegrityError)
    assert len(on_the_driver) == 3  # Dave's and Carol's two: a write transaction is begun before its first statement
    async with db.read() as session:
        users = (await (await rows_of(session)).execute(select(APPROVALS.c.user_id, APPROVALS.c.environment))).all()
    assert sorted(users) == [("U0BOB", "prod"), ("U0ERIN", "qa"), ("U0FRANK", "qa")]


async def test_rows_appended_at_commit_go_on_the_driver_in_one_chain(db: Database, on_the_driver: list[str]) -> None:
    """The audit trail's appends: several rows at once, linked into the workspace's chain after its head (read on
    the driver too)."""
    await _release(db)
    for batch in range(3):
        async with db.transaction() as session:
            await (await rows_of(session)).execute(text("SELECT 1"))  # the rows the commit's appends run on
            for n in range(3):
                audit.append(session, TEAM, "U0ALICE", "note", details={"batch": batch, "n": n})
    assert sum(sql.startswith("INSERT INTO audit_events") for sql in on_the_driver) >= 2  # planned by the second
    async with db.read() as session:
        trail = select(AUDIT_EVENTS.c.details).where(AUDIT_EVENTS.c.team_id == TEAM).order_by(AUDIT_EVENTS.c.id)
        details = (await (await rows_of(session)).execute(trail)).scalars().all()
    assert details == [{"batch": b, "n": n} for b in range(3) for n in range(3)]
    verdict = await chain_check.verify(db, TEAM)
    assert verdict.broken is None
    assert verdict.events == 9


async def test_a_commits_appends_to_several_tables_keep_their_order_and_chain(
    db: Database, on_the_driver: list[str]
) -> None:
    """Audit events and outbox messages owed by one transaction, added in turns: one multi-row INSERT per table on
    the driver (on PostgreSQL all in one statement, one round trip), each table's rows in the order they were added,
    and the chain unbroken."""
    await _release(db)
    for batch in range(2):  # the second runs planned, on the driver
        on_the_driver.clear()
        async with db.transaction() as session:
            await (await rows_of(session)).execute(text("SELECT 1"))  # the rows the commit's appends run on
            for n in range(3):
                audit.append(session, TEAM, "U0ALICE", "note", details={"batch": batch, "n": n})
                outbox.enqueue(session=session, team_id=TEAM, kind="post", channel="C1", payload={"b": batch, "n": n})
    inserts = [" ".join(sql.split()) for sql in on_the_driver if "INSERT INTO" in sql]
    if db.is_postgres:
        assert len(inserts) == 1, inserts
        assert inserts[0].startswith("WITH w0 AS (INSERT INTO audit_events (")
        assert ") INSERT INTO outbox (" in inserts[0]
    else:
        assert [sql.split(" (")[0] for sql in inserts] == ["INSERT INTO audit_events", "INSERT INTO outbox"]
    async with db.read() as session:
        rows = await rows_of(session)
        trail = select(AUDIT_EVENTS.c.details).where(AUDIT_EVENTS.c.team_id == TEAM).order_by(AUDIT_EVENTS.c.id)
        details = (await rows.execute(trail)).scalars().all()
        owed = select(OUTBOX.c.payload).where(OUTBOX.c.team_id == TEAM).order_by(OUTBOX.c.id)
        payloads = (await rows.execute(owed)).scalars().all()
    assert details == [{"batch": b, "n": n} for b in range(2) for n in range(3)]
    assert payloads == [{"b": b, "n": n} for b in range(2) for n in range(3)]
    assert (await chain_check.verify(db, TEAM)).broken is None


async def test_a_long_run_of_appends_goes_table_by_table(db: Database, on_the_driver: list[str]) -> None:
    """More rows than one statement takes together (`appends.TOGETHER_ROWS`): a multi-row INSERT per table, in
    order, on PostgreSQL as on SQLite."""
    await _release(db)
    many = appends.TOGETHER_ROWS + 2
    for batch in range(2):  # the second runs planned, on the driver
        on_the_driver.clear()
        async with db.transaction() as session:
            await (await rows_of(session)).execute(text("SELECT 1"))
            for n in range(many):
                audit.append(session, TEAM, "U0ALICE", "note", details={"batch": batch, "n": n})
            outbox.enqueue(session=session, team_id=TEAM, kind="post", channel="C1", payload={"b": batch})
    inserts = [sql.split(" (")[0] for sql in on_the_driver if "INSERT INTO" in sql]
    assert inserts == ["INSERT INTO audit_events", "INSERT INTO outbox"]
    async with db.read() as session:
        trail = select(AUDIT_EVENTS.c.details).where(AUDIT_EVENTS.c.team_id == TEAM).order_by(AUDIT_EVENTS.c.id)
        details = (await (await rows_of(session)).execute(trail)).scalars().all()
    assert details == [{"batch": b, "n": n} for b in range(2) for n in range(many)]
    assert (await chain_check.verify(db, TEAM)).broken is None


async def test_what_the_engines_execution_adds_is_left_to_it_and_a_returning_is_read(db: Database) -> None:
    """An INSERT whose column has a default computed in Python goes through the engine every time (the driver alone
    would write NULL); one that says what to return is planned, and gives back the new rows' ids."""
    table = Table(
        "direct_defaults",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("note", String),
        Column("at", DateTime(timezone=True), default=lambda: NOW),
    )
    returning = insert(table).returning(table.c.id)
    statement = insert(table)
    returned = []
    async with db.transaction() as session:
        connection = await session.connection()
        await connection.run_sync(lambda sync: table.create(sync))
        rows = await rows_of(session)
        for n in range(3):
            await rows.execute(insert(table), {"note": f"built per call {n}"})
            await rows.execute(statement, {"note": f"built once {n}"})
            returned.append((await rows.execute(returning, {"note": "returning", "at": NOW})).scalar_one())
        written = (await rows.execute(select(table.c.id, table.c.note, table.c.at).order_by(table.c.id))).all()
        await connection.run_sync(lambda sync: table.drop(sync))
    assert [at.replace(tzinfo=UTC) for _id, _note, at in written] == [NOW] * 9
    assert returned == [id_ for id_, note, _at in written if note == "returning"]
    planned = plans._plans[returning].values()
    assert any(isinstance(plan, plans.Plan) and plan.metadata is not None for plan in planned)
    assert not any(isinstance(plan, plans.Plan) for plan in plans._plans[statement].values())
