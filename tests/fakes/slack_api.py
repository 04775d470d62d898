"""A fake Slack Web API: an aiohttp server that answers like Slack, records every call, validates Block Kit,
and fails on demand (429 with Retry-After, 500, an unknown error code, a proxy's HTML or plain-text page, an empty
body, a dropped connection, or hanging past the client's timeout)."""

import asyncio
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

TEAM_ID = "T0TEAM"
# In mrkdwn, `<` opens a link or a mention; anything else after it means text was sent unescaped.
UNESCAPED = re.compile(r"<(?![@#!]|https?://|mailto:)")
BOT_USER_ID = "U0BOT"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    target: str = ""  # for response_url calls: which URL (each command or click gets its own)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    @property
    def text_everywhere(self) -> str:
        """Fallback text plus every block, as one string, for 'does it mention X' checks."""
        return json.dumps(self.params, ensure_ascii=False)


@dataclass
class Fault:
    status: int = 500
    retry_after: int | None = None
    delay: float = 0.0
    times: int = 1
    error: str | None = None  # a Slack error code with HTTP 200, e.g. "channel_not_found"
    body: str | None = None  # a raw answer instead of Slack's JSON (a proxy's HTML page, an empty body)
    content_type: str = "application/json"  # of `body`
    reset: bool = False  # drop the connection without answering


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    user_timezones: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    _ts: Any = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition | None = None
    server: TestServer | None = None

    # -- test-facing API ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/api/"))

    def response_url(self, name: str = "r") -> str:
        assert self.server is not None
        return str(self.server.make_url(f"/respond/{name}"))

    def fail(self, method: str, *faults: Fault) -> None:
        self.faults.setdefault(method, []).extend(faults)

    def of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def posts(self, channel: str | None = None) -> list[Call]:
        return [c for c in self.of("chat.postMessage") if channel is None or c.get("channel") == channel]

    def responses(self) -> list[Call]:
        return self.of("response_url")

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] = lambda _c: True,
        *,
        count: int = 1,
        timeout: float = 10,  # noqa: ASYNC109 (the timeout is the assertion: on expiry it lists what Slack did get)
    ) -> list[Call]:
        """Wait until `count` calls of `method` match; returns them (fails the test on timeout)."""
        assert self._changed is not None

        def matching() -> list[Call]:
            return [call for call in self.of(method) if predicate(call)]

        async def until() -> list[Call]:
            assert self._changed is not None
            async with self._changed:
                await self._changed.wait_for(lambda: len(matching()) >= count)
            return matching()

        try:
            return await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            seen = [(c.method, str(c.params)[:200]) for c in self.calls]
            raise AssertionError(f"expected {count} {method} call(s) matching; saw {seen}") from None

    async def settle(self, quiet: float = 0.3) -> None:
        """Wait until no call has arrived for `quiet` seconds (to assert that nothing more comes)."""
        seen = -1
        while seen != len(self.calls):
            seen = len(self.calls)
            await asyncio.sleep(quiet)

    # -- server ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if request.method == "GET":
            return dict(request.query)
        if request.content_type == "application/json":
            return dict(json.loads(raw or b"{}"))
        parsed = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
        for key in ("blocks", "view", "attachments"):
            if isinstance(parsed.get(key), str):
                parsed[key] = json.loads(parsed[key])
        return parsed

    async def _respond(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        self._validate("response_url", params)
        await self._record(Call("response_url", params, target=request.match_info["name"]))
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.attempts[method] = self.attempts.get(method, 0) + 1
        pending = self.faults.get(method)
        if pending:
            fault = pending[0]
            fault.times -= 1
            if fault.times <= 0:
                pending.pop(0)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.reset:
                assert request.transport is not None
                request.transport.abort()  # the client reads a reset connection, no answer
                return web.Response()
            if fault.body is not None:
                return web.Response(status=fault.status, body=fault.body.encode(), content_type=fault.content_type)
            if fault.error:
                return web.json_response({"ok": False, "error": fault.error})
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return web.json_response({"ok": False, "error": "fault"}, status=fault.status, headers=headers)
        problem = self._validate(method, params)
        if problem:
            return web.json_response({"ok": False, "error": "invalid_blocks", "detail": problem})
        await self._record(Call(method, params))
        return web.json_response(self._answer(method, params))

    def _validate(self, method: str, params: dict[str, Any]) -> str | None:
        try:
            for text in _texts(params):
                found = UNESCAPED.search(text)
                assert found is None, f"unescaped '<' in {text[max(0, found.start() - 30) : found.start() + 30]!r}"
            if "blocks" in params:
                blocks = params["blocks"]
                assert isinstance(blocks, list), "blocks is a list"
                assert len(blocks) <= 50, "at most 50 blocks"
                for block in Block.parse_all(blocks):
                    block.validate_json()
                assert params.get("text"), "messages with blocks need fallback text"
            if "view" in params:
                view = params["view"]
                View(**view).validate_json()
        except Exception as exc:  # record, and answer like Slack does
            self.invalid.append((method, f"{type(exc).__name__}: {exc}"))
            return str(exc)
        return None

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "B0BOT", "team": "Test"}
        if method in ("chat.postMessage", "chat.update"):
            ts = params.get("ts") or f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": params.get("channel"), "ts": ts}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            return {"ok": True, "view": {"id": "V0VIEW", **params.get("view", {})}}
        if method == "usergroups.users.list":
            return {"ok": True, "users": self.usergroups.get(str(params.get("usergroup")), [])}
        if method == "users.info":
            user = str(params.get("user"))
            return {"ok": True, "user": {"id": user, "tz": self.user_timezones.get(user, "UTC")}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(params.get("users", "X"))[1:]}}
        return {"ok": True}


def _texts(value: Any) -> list[str]:
    """Every string a person would read as mrkdwn: fallback `text` and the `text` of blocks and elements."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "text" and isinstance(item, str) and value.get("type") != "plain_text":
                found.append(item)
            else:
                found.extend(_texts(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_texts(item))
    return found
