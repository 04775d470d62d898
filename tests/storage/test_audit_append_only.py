"""The audit trail is append-only in the database itself: UPDATE and DELETE on `audit_events` fail (a trigger
from the migrations), on PostgreSQL and on SQLite alike, whoever connects; INSERT still works."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.db import Database
from storage.repositories import audit

TEAM = "T0TEAM"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.transaction() as session:
        audit.append(session, TEAM, "U0RM", "noted", details={"n": 1})
    yield database
    await database.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor_id = 'U0MALLORY'",
        "UPDATE audit_events SET details = '{}' WHERE team_id = 'T0TEAM'",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE actor_id = 'U0RM'",
    ],
)
async def test_audit_events_cannot_be_changed_or_deleted(db: Database, statement: str) -> None:
    with pytest.raises(DBAPIError, match="audit_events is append-only"):
        async with db.transaction() as session:
            await session.exec(text(statement))  # type: ignore[call-overload]
    async with db.read() as session:
        rows = (await session.exec(text("SELECT actor_id, action FROM audit_events"))).all()  # type: ignore[call-overload]
    assert [tuple(row) for row in rows] == [("U0RM", "noted")]


async def test_audit_events_can_still_be_appended(db: Database) -> None:
    async with db.transaction() as session:
        audit.append(session, TEAM, "U0BOB", "noted", details={"n": 2})
    async with db.read() as session:
        count = (await session.exec(text("SELECT count(*) FROM audit_events"))).one()  # type: ignore[call-overload]
    assert tuple(count) == (2,)
