"""`shipmate team purge` deletes what a workspace that removed Shipmate left behind, and nothing of anyone else's;
`shipmate doctor` checks every installation with its own token and policy."""

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot import doctor, team_purge
from bot.settings import Settings
from storage.db import Database
from tests.fakes.slack_api import FakeSlack
from tests.harness import Harness
from tests.workspaces.support import command, install, stored, uninstall


async def test_purge_deletes_one_workspaces_history_and_keeps_the_audit_trail_guarded(
    harness: Harness, settings: Settings, slack: FakeSlack, database_url: str
) -> None:
    await install(harness, "T0AAA")
    await install(harness, "T0BBB")
    await command(harness, "propose payments 1.0.0 One", team_id="T0AAA")
    await command(harness, "propose billing 2.0.0 Two", team_id="T0BBB")
    await slack.wait_for("chat.postMessage", count=2)
    said: list[str] = []

    assert await team_purge.run(settings, "T0AAA", yes=True, say=said.append) == 1
    assert "still has Shipmate installed" in said[-1]
    await uninstall(harness, "T0AAA")
    assert await team_purge.run(settings, "T0AAA", yes=False, say=said.append) == 0
    assert said[-1].startswith("would delete for T0AAA: ")
    assert "releases 1" in said[-1]
    assert await stored(database_url, "SELECT count(*) FROM releases WHERE team_id = 'T0AAA'") == [(1,)]

    assert await team_purge.run(settings, "T0AAA", yes=True, say=said.append) == 0
    assert said[-1].startswith("deleted for T0AAA: ")
    for table in ("releases", "audit_events", "outbox", "slack_workspaces"):
        assert await stored(database_url, f"SELECT count(*) FROM {table} WHERE team_id = 'T0AAA'") == [(0,)]
    assert await stored(database_url, "SELECT count(*) FROM releases WHERE team_id = 'T0BBB'") == [(1,)]
    db = Database(database_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"):
            await delete_audit_of(db, "T0BBB")
    finally:
        await db.dispose()


async def delete_audit_of(db: Database, team_id: str) -> None:
    async with db.transaction() as session:
        await session.exec(text("DELETE FROM audit_events WHERE team_id = :t").bindparams(t=team_id))  # type: ignore[call-overload]


async def test_purge_wants_a_workspace_id(settings: Settings) -> None:
    said: list[str] = []
    assert await team_purge.run(settings, "payments", yes=True, say=said.append) == 2
    assert "not a workspace id" in said[0]


async def test_doctor_checks_each_installation_with_its_own_token(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    await install(harness, "T0AAA")
    await install(harness, None, enterprise_id="E0ORG", org_wide=True)
    lines: list[str] = []
    await doctor.run(settings, lambda check: lines.append(check.line))
    assert any(line.startswith("ok    installation T0AAA: token valid") for line in lines), lines
    assert any(line.startswith("ok    installation E0ORG (org-wide): token valid") for line in lines), lines

    rekeyed = settings.model_copy(update={"shipmate_encryption_key": Fernet.generate_key().decode()})
    lines.clear()
    assert not await doctor.run(rekeyed, lambda check: lines.append(check.line))
    assert any("does not open with SHIPMATE_ENCRYPTION_KEY" in line for line in lines), lines
