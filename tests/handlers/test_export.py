"""`/release export <from> <to>` over signed HTTP: a release manager gets the production changes of those days as
a CSV file in a direct message (the same bytes `shipmate export changes` writes), sent through the outbox and
recorded in the audit trail; anyone else is refused, naming the rule and who may; bad dates are explained."""

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.cli import main
from bot.services.evidence import Scope, write_csv
from bot.settings import Settings
from storage.db import Database
from tests.conftest import POLICY
from tests.harness import Harness
from tests.services.evidence.history import TEAM, seed


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    await seed(database)
    yield database
    await database.dispose()


async def _exports(db: Database) -> list[tuple[str, str]]:
    async with db.read() as session:
        rows = await session.exec(  # type: ignore[call-overload]
            text("SELECT actor_id, action FROM audit_events WHERE action IN ('changes_exported', 'refused')")
        )
        return [(row[0], row[1]) for row in rows]


async def test_a_release_manager_gets_the_csv_in_a_direct_message(harness: Harness, db: Database) -> None:
    answer = await harness.command_answer("export 2026-03-01 2026-03-07", user="U0RM")
    assert "Sending you 2 production changes in prod from 2026-03-01 to 2026-03-07" in answer
    (done,) = await harness.slack.wait_for("files.completeUploadExternal")
    assert done["channel_id"] == "D0RM"  # the DM Slack opened with U0RM
    head = answer.split("head at the export was `")[1].split("`")[0]
    assert head in done["initial_comment"]
    assert "2 production changes" in done["initial_comment"]
    (upload,) = harness.slack.completed_files().values()
    assert upload.filename == "production-changes-2026-03-01-to-2026-03-07.csv"
    expected = io.StringIO(newline="")
    await write_csv(db, Scope(TEAM, "prod", date(2026, 3, 1), date(2026, 3, 7)), expected)
    assert upload.data == expected.getvalue().encode()
    assert b"'=HYPERLINK(" in upload.data  # inert in a spreadsheet
    assert ("U0RM", "changes_exported") in await _exports(db)


async def test_anyone_else_is_refused_naming_the_rule_and_who_may(harness: Harness, db: Database) -> None:
    response = await harness.reply(await harness.command("export 2026-03-01 2026-03-07", user="U0ALICE"))
    assert response["response_type"] == "ephemeral"
    assert "Only release managers can export production changes" in response["text"]
    assert "<@U0RM>" in response["text"]
    assert await _exports(db) == [("U0ALICE", "refused")]
    assert harness.slack.of("files.getUploadURLExternal") == []


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("export 2026-03-07 2026-03-01", "2026-03-01 is before 2026-03-07: say the first day, then the last."),
        ("export March 2026-03-07", "`March` is not a date: write it as YYYY-MM-DD"),
        ("export 2026-03-01", "Say the first and the last day (UTC)"),
        ("export 2024-01-01 2026-03-01", "more than 366 days; export longer ranges with `shipmate export changes`"),
    ],
)
async def test_bad_dates_are_explained_and_nothing_is_sent(
    harness: Harness, db: Database, command: str, said: str
) -> None:
    answer = await harness.command_answer(command, user="U0RM")
    assert said in answer
    assert "Usage: `/release export &lt;from&gt; &lt;to&gt;`" in answer
    assert await _exports(db) == []


async def test_the_file_sent_in_slack_verifies_against_the_database(
    harness: Harness, db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = await harness.command_answer("export 2026-03-01 2026-03-07", user="U0RM")
    head = answer.split("head at the export was `")[1].split("`")[0]
    await harness.slack.wait_for("files.completeUploadExternal")
    (upload,) = harness.slack.completed_files().values()
    assert upload.data is not None
    sent = tmp_path / upload.filename
    sent.write_bytes(upload.data)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SHIPMATE_POLICY_TOML", POLICY)
    flags = ["--team", TEAM, "--from", "2026-03-01", "--to", "2026-03-07", "--head", head]
    assert await asyncio.to_thread(main, ["export", "verify", str(sent), *flags]) == 0
    assert await asyncio.to_thread(main, ["export", "verify", str(sent)]) == 2  # no sidecar, no flags: says which
    sent.write_bytes(upload.data.replace(b"U0CAROL at", b"U0EVE at"))
    assert await asyncio.to_thread(main, ["export", "verify", str(sent), *flags]) == 1
