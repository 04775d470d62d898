"""Slack's side of Socket Mode: `apps.connections.open` hands out a WebSocket URL on the fake Slack; the app
connects, gets `hello`, and is pushed envelopes; each ack (`{"envelope_id": …, "payload"?: …}`) comes back up.

Shapes as Slack publishes them (api.slack.com/apis/socket-mode): every envelope has `envelope_id`, `type`
(`slash_commands`, `interactive`, `events_api`), `payload` (what HTTP mode would POST) and
`accepts_response_payload`; Events API envelopes also carry `retry_attempt` and `retry_reason`.
"""

import asyncio
import itertools
import json
from typing import Any

from aiohttp import WSMsgType, web

ACCEPTS_PAYLOAD = {"slash_commands": True, "events_api": False}  # interactive: only view_submission and options
_ids = itertools.count(1)


def envelope(kind: str, payload: dict[str, Any], *, retry: int = 0) -> dict[str, Any]:
    accepts = ACCEPTS_PAYLOAD.get(kind, payload.get("type") in ("view_submission", "block_suggestion"))
    wrapped: dict[str, Any] = {
        "envelope_id": f"{next(_ids):08d}-5e4a-4b8f-9c6d-{kind[:4]}",
        "type": kind,
        "payload": payload,
        "accepts_response_payload": accepts,
    }
    if kind == "events_api":
        wrapped.update(retry_attempt=retry, retry_reason="timeout" if retry else "")
    return wrapped


class SocketModeLink:
    def __init__(self) -> None:
        self.url = ""  # set when the fake Slack starts: ws://127.0.0.1:<port>/link/
        self.opened = 0  # successful `apps.connections.open` calls
        self.acks: dict[str, dict[str, Any]] = {}
        self.garbage: list[str] = []  # frames from the app that are not acks
        self._sockets: list[web.WebSocketResponse] = []
        self._changed = asyncio.Condition()

    def open(self, authorization: str) -> dict[str, Any]:
        """`apps.connections.open`: only an app-level token may open a connection (Slack's own error otherwise)."""
        if not authorization.startswith("Bearer xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        self.opened += 1
        return {"ok": True, "url": f"{self.url}?ticket=t{self.opened}&app_id=A0APP"}

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets) + 1,
                "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": "A0APP"},
            }
        )
        await self._notify(lambda: self._sockets.append(socket))
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(frame.data)
                if isinstance(ack, dict) and isinstance(ack.get("envelope_id"), str):
                    await self._notify(lambda ack=ack: self.acks.__setitem__(ack["envelope_id"], ack))
                else:
                    self.garbage.append(frame.data)
        finally:
            await self._notify(lambda: self._sockets.remove(socket))
        return socket

    async def _notify(self, change: Any) -> None:
        async with self._changed:
            change()
            self._changed.notify_all()

    async def connected(self, timeout: float = 10) -> None:  # noqa: ASYNC109 (expiry is the assertion)
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: bool(self._sockets))

    async def push(self, message: dict[str, Any], timeout: float = 10) -> dict[str, Any]:  # noqa: ASYNC109
        """Send an envelope down the open connection and wait for its ack (fails the test without one)."""
        await self.connected()
        await self._sockets[-1].send_json(message)
        envelope_id = message["envelope_id"]
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: envelope_id in self.acks)
        except TimeoutError:
            raise AssertionError(f"no ack for {message['type']} envelope {envelope_id}") from None
        return self.acks[envelope_id]

    async def close(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
