"""The web board in multi-workspace mode (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, no bot token), on the real app:
the landing page offers Add to Slack; a person of a workspace that installed Shipmate through the OAuth flow signs
in and sees that workspace's board, never another's; a workspace that never installed it is turned away."""

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.domain.policy import Policy
from bot.server import create_app
from tests.fakes.slack_api import FakeSlack
from tests.harness import Harness
from tests.web.board_steps import OURS, PUBLIC_URL, THEIRS, Visitor, seed
from tests.workspaces.support import install, many_settings


@pytest.fixture
async def base_url(database_url: str, slack: FakeSlack, policy: Policy) -> AsyncIterator[str]:
    settings = many_settings(database_url, slack, shipmate_public_url=PUBLIC_URL)
    assert settings.many_workspaces
    await seed(database_url, OURS)
    await seed(database_url, THEIRS)
    server = TestServer(create_app(settings, policy), host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    async with ClientSession() as http:
        harness = Harness(base + "/", http, slack)
        for ws in (OURS, THEIRS):
            installed = await install(harness, ws.team_id)
            assert installed.status == 200, installed.text
    yield base
    await server.close()


async def test_the_landing_page_offers_add_to_slack(base_url: str) -> None:
    async with ClientSession() as http:
        status, html, _ = await Visitor(http, base_url).get("/")
    assert status == 200
    assert 'href="/slack/install"' in html
    assert "Add to Slack" in html
    assert "Sign in with Slack" in html


async def test_each_workspace_signs_in_to_its_own_board(base_url: str, slack: FakeSlack) -> None:
    for ws, other in ((OURS, THEIRS), (THEIRS, OURS)):
        slack.openid.as_person(ws.team_id, "U0READER")
        async with ClientSession() as http:
            visitor = Visitor(http, base_url)
            status, _, _ = await visitor.sign_in()
            assert status == 303
            status, html, _ = await visitor.get("/board")
        assert status == 200
        for word in ws.words:
            assert word in html
        for word in other.words:
            assert word not in html


async def test_a_workspace_that_never_installed_shipmate_is_turned_away(base_url: str, slack: FakeSlack) -> None:
    slack.openid.as_person("T0STRANGER", "U0READER")
    async with ClientSession() as http:
        visitor = Visitor(http, base_url)
        status, html, _ = await visitor.sign_in()
    assert status == 403
    assert "not installed in your Slack workspace" in html
    for ws in (OURS, THEIRS):
        for word in ws.words:
            assert word not in html
