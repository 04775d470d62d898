"""More than the one `harness`: serve any aiohttp app (two instances, an extra listener) as a Harness."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from tests.fakes.slack_api import FakeSlack
from tests.harness import Harness


@asynccontextmanager
async def serve(app: web.Application, slack: FakeSlack) -> AsyncIterator[Harness]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession() as session:
            yield Harness(str(server.make_url("/")), session, slack)
    finally:
        await server.close()
    assert not slack.invalid, f"the app sent invalid Block Kit: {slack.invalid}"
