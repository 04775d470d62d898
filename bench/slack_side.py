"""Slack's side, in the bench process: the Web API the server calls (answers at once, counts calls and the release
cards it is sent), the response_url receiver, and Slack's request bodies."""

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from aiohttp import web

from bench.seed import HOME_USERS

TEAM_ID = "T0BENCH"
SECRET = "bench-signing-secret"
CARD = re.compile(r"^Release (\S+@\S+) \(")  # a release message's fallback text


@dataclass
class SlackSide:
    port: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    cards: Counter[str] = field(default_factory=Counter)  # release ref → new release messages posted for it
    answers_received: int = 0
    answers: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    homes: dict[str, asyncio.Future[float]] = field(default_factory=dict)  # user id → their views.publish
    _ts: Any = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    def messages(self) -> int:
        """Messages sent so far (posts and updates)."""
        return sum(count for method, count in self.calls.items() if method.startswith("chat."))

    async def quiet(self, interval: float = 0.2) -> None:
        """Until no message came for `interval` seconds: those in flight (sent after an ack) have gone out."""
        seen = -1
        while seen != self.messages():
            seen = self.messages()
            await asyncio.sleep(interval)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack_sdk sends usergroups.users.list as GET
        app.router.add_post("/respond/{key}", self._respond)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        self.calls[method] = self.calls.get(method, 0) + 1
        if method == "auth.test":
            return web.json_response({"ok": True, "team_id": TEAM_ID, "user_id": "U0BOT", "bot_id": "B0BOT"})
        if method == "usergroups.users.list":
            return web.json_response({"ok": True, "users": ["U0RM", *HOME_USERS]})
        if method == "chat.postMessage":
            self._count_card(raw)
        if method == "views.publish":
            future = self.homes.pop(str(json.loads(raw).get("user_id")), None)
            if future is not None and not future.done():
                future.set_result(time.perf_counter())
            return web.json_response({"ok": True, "view": {"id": "V0HOME"}})
        return web.json_response({"ok": True, "channel": "C0RELEASE", "ts": f"1700000000.{next(self._ts):06d}"})

    def _count_card(self, raw: bytes) -> None:
        params = json.loads(raw) if raw.startswith(b"{") else {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        found = CARD.match(str(params.get("text", "")))
        if found and not params.get("thread_ts"):
            self.cards[found.group(1)] += 1

    async def _respond(self, request: web.Request) -> web.Response:
        await request.read()
        self.answers_received += 1
        future = self.answers.pop(request.match_info["key"], None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())
        return web.Response(text="ok")


def signed(body: bytes, content_type: str = "application/x-www-form-urlencoded") -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest}


def home_opened(user: str, event_id: str) -> bytes:
    """The `app_home_opened` event as Slack posts it (JSON, signed like every request)."""
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home", "event_ts": "1.1"}
    return json.dumps(
        {
            "token": "legacy",
            "team_id": TEAM_ID,
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": TEAM_ID, "user_id": "U0BOT", "is_bot": True}],
        }
    ).encode()


def command(text: str, response_url: str, user: str = "U0BENCH") -> bytes:
    return urlencode(
        {
            "team_id": TEAM_ID,
            "channel_id": "C0RELEASE",
            "user_id": user,
            "command": "/release",
            "text": text,
            "response_url": response_url,
            "trigger_id": "t",
        }
    ).encode()
