"""A release's audit trail read a page at a time (`/release history <ref> [page]`), straight from the repository
(SQLite and PostgreSQL): pages cover every event of that release once, in its workspace only, and stay inside the
(team_id, release_id, id) index however far back they go."""

from typing import Any

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.models import Release
from storage.repositories import audit

TEAM = "T0TEAM"


async def _release(db: Database, team: str, version: str) -> int:
    async with db.transaction() as session:
        session.add(
            release := Release(
                team_id=team, service="payments", version=version, summary="x", proposer_id="U0A", channel_id="C"
            ),
        )
        await session.flush()
        return release.pk


async def _noted(db: Database, team: str, release_id: int, numbers: range) -> None:
    async with db.transaction() as session:
        for n in numbers:
            audit.append(session, team, "U0RM", "noted", release_id=release_id, details={"n": n})


async def test_pages_cover_the_trail_once_newest_first_and_only_that_release(db: Database) -> None:
    mine = await _release(db, TEAM, "2.4.0")
    sibling = await _release(db, TEAM, "2.5.0")
    # Interleaved with the sibling's events and those of another workspace whose release has the same id space.
    for start in range(0, 100, 10):
        await _noted(db, TEAM, mine, range(start, start + 10))
        await _noted(db, TEAM, sibling, range(1000 + start, 1010 + start))
        await _noted(db, "T0OTHER", mine, range(5000 + start, 5010 + start))

    async with db.read() as session:
        assert await audit.count_for_release(session=session, team_id=TEAM, release_id=mine) == 100
        pages = [
            [
                event.details["n"]
                for event in await audit.newest_for_release(
                    session=session, team_id=TEAM, release_id=mine, limit=45, offset=offset
                )
            ]
            for offset in (0, 45, 90, 135)
        ]

    assert pages[0] == list(range(55, 100))  # the newest, in time order
    assert pages[1] == list(range(10, 55))
    assert pages[2] == list(range(10))
    assert pages[3] == []  # past the end

    async with db.quick_read() as session:  # the same pages as plain rows (what `/release history` reads)
        lines = [
            [
                line.details["n"]
                for line in await audit.lines_for_release(
                    session=session, team_id=TEAM, release_id=mine, limit=45, offset=offset
                )
            ]
            for offset in (0, 45, 90, 135)
        ]
    assert lines == pages


@pytest.mark.parametrize("statement", [audit._NEWEST, audit._NEWEST_LINES], ids=["events", "lines"])
async def test_a_deep_page_reads_the_index_only_for_what_it_skips(
    db: Database, database_url: str, statement: Any
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the plan is SQLite's to show without statistics; PostgreSQL's depends on them")
    release_id = await _release(db, TEAM, "2.4.0")
    await _noted(db, TEAM, release_id, range(200))
    async with db.read() as session:
        connection = await session.connection()
        compiled = statement.compile(connection.engine)  # the statement the repository runs
        params = {"team_id": TEAM, "release_id": release_id, "limit": 45, "offset": 150}
        plan = " | ".join(
            str(row[-1])
            for row in await connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}", tuple(params[name] for name in compiled.positiontup or ())
            )
        )
        counted = " | ".join(
            str(row[-1])
            for row in await connection.execute(
                text("EXPLAIN QUERY PLAN SELECT count(*) FROM audit_events WHERE team_id = :t AND release_id = :r"),
                {"t": TEAM, "r": release_id},
            )
        )
    # The skipped entries are read from the covering index, the page's own rows by id: no step scans the table.
    steps = plan.split(" | ")
    assert "SEARCH audit_events USING COVERING INDEX ix_audit_team_release (team_id=? AND release_id=?)" in steps, plan
    assert all(step.startswith("SEARCH") for step in steps if "audit_events" in step), plan
    assert counted.startswith("SEARCH audit_events USING COVERING INDEX ix_audit_team_release"), counted
