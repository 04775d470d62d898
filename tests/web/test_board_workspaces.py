"""The web board in multi-workspace mode (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, no bot token): the landing page
offers Add to Slack, and a person of any workspace signs in and sees that workspace's board, never another's. The
pages run on their own here (the Slack side of multi-workspace mode is another part of the app)."""

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.policy import Policy
from bot.notify.installation import Installation
from bot.services.kernel.context import ServiceContext
from bot.web.pages import Web, add_routes
from storage.db import Database
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_openid import CLIENT_ID, CLIENT_SECRET
from tests.web.board_steps import OURS, PUBLIC_URL, THEIRS, Visitor, seed


@pytest.fixture
async def base_url(database_url: str, slack: FakeSlack, policy: Policy) -> AsyncIterator[str]:
    settings = make_settings(
        database_url,
        slack,
        slack_bot_token="",
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        shipmate_public_url=PUBLIC_URL,
    )
    assert settings.multi_workspace
    await seed(database_url, OURS)
    await seed(database_url, THEIRS)
    db = Database(database_url)
    app = web.Application()
    add_routes(
        app, Web(settings, ServiceContext(db=db, policy=policy, settings=settings), Installation(AsyncWebClient()))
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()
    await db.dispose()


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
    assert not [call for call in slack.calls if call.method == "auth.test"]  # no bot token to ask about
