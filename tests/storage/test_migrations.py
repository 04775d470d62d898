"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.migrate import alembic_config, upgrade


async def test_autogenerate_finds_no_difference(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:

            def diff(sync_connection: Any) -> list[Any]:
                context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
                return list(compare_metadata(context, SQLModel.metadata))

            differences = await connection.run_sync(diff)
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert differences == []
    assert set(SQLModel.metadata.tables) <= tables


# An OAuth state is issued before anyone knows which workspace will install the app (slack_sdk's table).
BEFORE_ANY_WORKSPACE = {"slack_oauth_states"}


async def test_every_table_is_scoped_by_team() -> None:
    unscoped = [name for name, table in SQLModel.metadata.tables.items() if "team_id" not in table.columns]
    assert unscoped == sorted(BEFORE_ANY_WORKSPACE)


PREVIOUS = "0005_pipeline"  # the revision 0006_separation_of_duties follows


def test_existing_releases_get_their_proposer_as_scope_author(tmp_path: Path) -> None:
    """0006 on a database with releases in it: nobody but the proposer could have changed their scope before."""
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"

    def query(sql: str) -> list[Any]:
        with closing(sqlite3.connect(path)) as connection, connection:
            return connection.execute(sql).fetchall()

    upgrade(url, PREVIOUS)
    query(
        "INSERT INTO releases (id, team_id, proposer_id, status, channel_id, row_version, created_at, updated_at,"
        " service, version, summary, risk) VALUES (1, 'T0TEAM', 'U0ALICE', 'proposed', 'C0RELEASE', 1,"
        " '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'payments', '2.4.0', 'Faster checkout', 'medium')"
    )
    upgrade(url)
    assert query("SELECT scope_changed_by, scope_version FROM releases") == [("U0ALICE", 1)]
    command.downgrade(alembic_config(url), PREVIOUS)
    assert "scope_changed_by" not in [column[1] for column in query("PRAGMA table_info(releases)")]
    assert query("SELECT summary FROM releases") == [("Faster checkout",)]
