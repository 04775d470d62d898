"""Fixtures for many workspaces: the real app in OAuth mode (no bot token), its runtime at hand."""

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.domain.policy import Policy
from bot.server import RUNTIME, Runtime, create_app
from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack
from tests.harness import Harness
from tests.workspaces.support import many_settings


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return many_settings(database_url, slack)


@pytest.fixture
def app_policy(policy: Policy) -> Policy | None:
    """The policy the app is given; None: it reads its own (SHIPMATE_POLICY_DIR)."""
    return policy


@pytest.fixture
async def served(
    settings: Settings, app_policy: Policy | None, slack: FakeSlack
) -> AsyncIterator[tuple[Harness, Runtime]]:
    app = create_app(settings, app_policy)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with ClientSession() as session:
        yield Harness(str(server.make_url("/")), session, slack), app[RUNTIME]
    await server.close()
    assert not slack.invalid, f"the app sent invalid Block Kit: {slack.invalid}"


@pytest.fixture
def harness(served: tuple[Harness, Runtime]) -> Harness:
    return served[0]


@pytest.fixture
def runtime(served: tuple[Harness, Runtime]) -> Runtime:
    return served[1]
