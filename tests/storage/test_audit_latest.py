"""`audit.latest`: the newest event of a release with given details, found through the (team, release, id) index."""

from typing import Any

from sqlalchemy import event

from bot.domain.lifecycle import Status
from storage.db import Database
from storage.models import Release
from storage.repositories import audit

TEAM = "T0TEAM"


async def _release(db: Database, version: str) -> int:
    async with db.transaction() as session:
        release = Release(
            team_id=TEAM,
            service="payments",
            version=version,
            summary="x",
            proposer_id="U0A",
            channel_id="C0RELEASE",
            status=Status.PROPOSED,
        )
        session.add(release)
        await session.flush()
        return release.pk


async def test_the_newest_matching_event_of_the_release(database_url: str) -> None:
    db = Database(database_url)
    try:
        mine, other = await _release(db, "1.0.0"), await _release(db, "2.0.0")
        async with db.transaction() as session:
            for release_id, environment, source, n in [
                (mine, "prod", "api", 1),
                (mine, "qa", "api", 2),
                (mine, "prod", "github", 3),
                (mine, "prod", "api", 4),
                (other, "prod", "api", 5),
            ]:
                details = {"environment": environment, "source": source, "n": n}
                audit.append(session, TEAM, "ci", "gate_checked", release_id=release_id, details=details)
            audit.append(session, TEAM, "U0A", "approved", release_id=mine, details={"environment": "prod"})
        async with db.read() as session:
            found = await audit.latest(
                session=session,
                team_id=TEAM,
                release_id=mine,
                action="gate_checked",
                details={"environment": "prod", "source": "api"},
            )
            assert found is not None
            assert found.details["n"] == 4
            none = await audit.latest(
                session=session, team_id="T0OTHER", release_id=mine, action="gate_checked", details={}
            )
            assert none is None
    finally:
        await db.dispose()


async def test_it_walks_the_release_index(database_url: str) -> None:
    db = Database(database_url)
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    try:
        mine = await _release(db, "1.0.0")
        event.listen(db.read_engine.sync_engine, "before_cursor_execute", capture)
        async with db.read() as session:
            await audit.latest(
                session=session, team_id=TEAM, release_id=mine, action="gate_checked", details={"environment": "prod"}
            )
        event.remove(db.read_engine.sync_engine, "before_cursor_execute", capture)
        statement, parameters = next((s, p) for s, p in seen if "audit_events" in s)
        async with db.read() as session:
            connection = await session.connection()
            if db.is_postgres:
                await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table: ask for the index
                rows = await connection.exec_driver_sql("EXPLAIN " + statement, parameters)
            else:
                rows = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = "\n".join(str(row) for row in rows.all())
        assert "ix_audit_team_release" in plan, plan
    finally:
        await db.dispose()
