"""A changed release's card parts are read with its new version written and its older unsent cards dropped: the
same rows and the same writes as the statements they replace, on SQLite and PostgreSQL (where they are one
statement, the writes as data-modifying CTEs)."""

from datetime import UTC, datetime

from sqlalchemy import event
from sqlmodel import col, select

from bot.domain.lifecycle import Status
from storage.db import Database
from storage.models import Deployment, OutboxMessage, Release
from storage.repositories import outbox, shown
from storage.repositories import releases as releases_repo

TEAM = "T0TEAM"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


async def _releases(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        made = [
            Release(team_id=TEAM, proposer_id="U0ALICE", channel_id="C0RELEASE", service="payments", version=version,
                    summary="Faster checkout", changes="New cache", rollback_plan="Roll back", risk="high",
                    scope_authors="U0ALICE")
            for version in ("2.4.0", "2.5.0")
        ]  # fmt: skip
        session.add_all(made)
        await session.flush()
        first, second = (release.pk for release in made)
        session.add(
            Deployment(team_id=TEAM, release_id=first, service="payments", version="2.4.0", environment="dev",
                       outcome="succeeded", actor_id="U0ALICE")
        )  # fmt: skip
        session.add_all(
            [
                _card(TEAM, first, "pending"),  # dropped
                _card(TEAM, first, "pending", claimed=True),  # on its way to Slack: kept
                _card(TEAM, first, "sent"),
                _card(TEAM, second, "pending"),  # another release's
                _card("T0OTHER", first, "pending"),  # another workspace's (the ids are global, the rule is not)
                OutboxMessage(team_id=TEAM, release_id=first, kind="thread", payload={"text": "a line"}),
            ]
        )
    return first, second


def _card(team_id: str, release_id: int, status: str, *, claimed: bool = False) -> OutboxMessage:
    return OutboxMessage(
        team_id=team_id,
        release_id=release_id,
        kind="card",
        payload={"text": "card"},
        status=status,
        claimed_until=NOW if claimed else None,
    )


async def test_the_parts_come_with_the_version_written_and_older_cards_dropped(db: Database) -> None:
    first, second = await _releases(db)
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    writer = db.engine.sync_engine
    async with db.transaction() as session:
        release = await releases_repo.lock_by_id(session=session, team_id=TEAM, release_id=first)
        assert release is not None
        expected = await shown.card_parts(session=session, team_id=TEAM, release_id=first)
        outbox.enqueue(session=session, team_id=TEAM, kind="card", release_id=first, payload={"text": "owed, unsent"})
        saved = {"row_version": release.row_version + 1, "updated_at": NOW, "status": Status.APPROVED}
        event.listen(writer, "before_cursor_execute", capture)
        try:
            parts = await shown.card_parts_after(session=session, release=release, saved=saved)
        finally:
            event.remove(writer, "before_cursor_execute", capture)
        assert (release.row_version, release.updated_at, release.status) == (2, NOW, Status.APPROVED)
        assert not session.dirty  # held as loaded: nothing left for the session to write
    assert parts == expected
    assert [line.environment for line in parts[0]] == ["dev"]
    assert len(statements) == (1 if db.is_postgres else 4), statements  # SQLite: the two writes, the two reads

    async with db.read() as session:
        stored = (await session.exec(select(Release).where(col(Release.id) == first))).one()
        untouched = (await session.exec(select(Release).where(col(Release.id) == second))).one()
        cards = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    assert (stored.row_version, stored.status, stored.team_id, stored.service) == (2, Status.APPROVED, TEAM, "payments")
    assert stored.updated_at == NOW
    assert (untouched.row_version, untouched.status) == (1, Status.PROPOSED)
    assert [(m.team_id, m.release_id, m.kind, m.status) for m in cards] == [
        (TEAM, first, "card", "superseded"),
        (TEAM, first, "card", "pending"),  # claimed
        (TEAM, first, "card", "sent"),
        (TEAM, second, "card", "pending"),
        ("T0OTHER", first, "card", "pending"),
        (TEAM, first, "thread", "pending"),
    ]  # and the card this transaction owed was never written


async def test_a_refresh_without_a_new_version_only_drops_older_cards(db: Database) -> None:
    first, _second = await _releases(db)
    async with db.transaction() as session:
        release = await releases_repo.lock_by_id(session=session, team_id=TEAM, release_id=first)
        assert release is not None
        await shown.card_parts_after(session=session, release=release, saved={})
    async with db.read() as session:
        stored = (await session.exec(select(Release).where(col(Release.id) == first))).one()
        statuses = [m.status for m in (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()]
    assert stored.row_version == 1
    assert statuses == ["superseded", "pending", "sent", "pending", "pending", "pending"]
