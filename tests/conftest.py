"""Fixtures: a fake Slack, a fresh database per test (SQLite always, PostgreSQL when TEST_DATABASE_URL is set),
and the real aiohttp app served on a local port."""

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.domain.policy import Policy, parse_policy
from bot.server import create_app
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import FakeSlack
from tests.harness import SECRET, Harness

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"] if TEST_DATABASE_URL else ["sqlite"]

POLICY = """
release_managers = ["U0RM"]
timezone = "UTC"

[slack]
coordination_channel = "C0RELEASE"
stakeholder_channel = "C0STAKE"

[[environments]]
name = "dev"

[[environments]]
name = "qa"
regression_required = true

[[environments]]
name = "prod"
approvals = 2
approvers = ["U0BOB", "U0CAROL", "U0DAVE", "S0RELMGR"]

[reminders]
pending_approval_every = "4h"

[review]
after = "24h"
"""


def _pg_url(database: str) -> str:
    base = TEST_DATABASE_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://").replace("postgres://", "postgresql://")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One throwaway database per test run, migrated once, dropped at the end."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"shipmate_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    upgrade(url)
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(url: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "shipmate.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    asyncio.run(_truncate(url))
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The database of `database_url`, disposed of after the test."""
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def pipeline() -> AsyncIterator[FakePipeline]:
    """A fake CI receiver and GitHub API, for tests of deployers and GitHub's hooks."""
    fake = FakePipeline()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def policy_text() -> str:
    return POLICY


@pytest.fixture
def policy(policy_text: str) -> Policy:
    return parse_policy(policy_text)


def make_settings(database_url: str, slack: FakeSlack, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": "xoxb-test",
        "slack_signing_secret": SECRET,
        "slack_api_url": slack.url,
        "database_url": database_url,
        "shipmate_policy": Path("/nonexistent/shipmate.toml"),
        "shipmate_webhook_secret": "webhook-secret",
        "shipmate_poll_interval": 0.05,
        "shipmate_slack_timeout": 2.0,
        # A test machine shared by parallel workers runs its loops late now and then: only tests of saturation
        # (which set their own) should ever hear "busy".
        "shipmate_max_loop_lag": 5.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return make_settings(database_url, slack)


@pytest.fixture
async def harness(settings: Settings, policy: Policy, slack: FakeSlack) -> AsyncIterator[Harness]:
    server = TestServer(create_app(settings, policy), host="127.0.0.1")
    await server.start_server()
    async with ClientSession() as session:
        yield Harness(str(server.make_url("/")), session, slack)
    await server.close()
    assert not slack.invalid, f"the app sent invalid Block Kit: {slack.invalid}"
