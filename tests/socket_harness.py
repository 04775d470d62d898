"""The same scenario steps as `Harness`, with Slack's requests pushed as Socket Mode envelopes down the WebSocket
the app opened to the fake Slack. The ack an envelope gets stands in for the HTTP answer."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from tests.fakes.slack_api import FakeSlack
from tests.fakes.socket_mode import envelope
from tests.harness import Answer, Harness


class SocketHarness(Harness):
    def __init__(self, base_url: str, session: ClientSession, slack: FakeSlack) -> None:
        super().__init__(base_url, session, slack)
        self.acks: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (envelope, its ack), in order

    async def deliver(self, kind: str, payload: dict[str, Any], *, retry: int = 0) -> Answer:
        sent = envelope(kind, payload, retry=retry)
        ack = await self.slack.socket_mode.push(sent)
        self.acks.append((sent, ack))
        body = ack.get("payload")
        return Answer(200, json.dumps(body) if body else "")


@asynccontextmanager
async def serve_socket(app: web.Application, slack: FakeSlack) -> AsyncIterator[SocketHarness]:
    """Start the app (it connects to the fake Slack's socket on start-up) and its remaining HTTP surfaces."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        await slack.socket_mode.connected()
        async with ClientSession() as session:
            yield SocketHarness(str(server.make_url("/")), session, slack)
    finally:
        await server.close()
    assert not slack.invalid, f"the app sent invalid Block Kit: {slack.invalid}"
    assert not slack.socket_mode.garbage, f"the app sent frames that are not acks: {slack.socket_mode.garbage}"
