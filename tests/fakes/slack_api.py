"""A fake Slack Web API: an aiohttp server that answers like Slack, records every call, validates Block Kit,
and fails on demand (429 with Retry-After, 500, an unknown error code, a proxy's HTML or plain-text page, an empty
body, a dropped connection, hanging past the client's timeout, or until released).

Like Slack it names the token's scopes in an `x-oauth-scopes` header on every answer and refuses the read methods
`shipmate doctor` uses without their scope (`missing_scope`, with `needed` and `provided`). Each app process may
use its own base URL (`url_for("a")`): calls then record which client made them, and faults can target one.

Files follow Slack's external upload flow (what slack_sdk's `files_upload_v2` does): `files.getUploadURLExternal`
(filename, length) answers an upload URL and a file id; the bytes are POSTed to that URL (Slack answers 200); then
`files.completeUploadExternal` (files=[{"id", "title"}], optional channel_id) finishes it. An `image` block's
`slack_file` must name a finished upload, else the message is refused as `invalid_blocks`, as Slack does.

Sign in with Slack (OpenID Connect: the authorize page, `openid.connect.token`, `openid.connect.userInfo`) is
`openid` (tests/fakes/slack_openid.py). `auth.test` answers TEAM_ID, or the workspace `teams_by_token` gives the
bot token (two apps, two workspaces, one fake Slack)."""

import asyncio
import base64
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

from bot.manifest import BOT_SCOPES
from tests.fakes.slack_answers import Answers
from tests.fakes.slack_files import BOT_USER_ID as BOT_USER_ID
from tests.fakes.slack_files import TEAM_ID as TEAM_ID
from tests.fakes.slack_files import FileUploads, Upload
from tests.fakes.slack_oauth import Grant, OAuthGrants, new_token_ids
from tests.fakes.slack_openid import FakeOpenId
from tests.fakes.socket_mode import SocketModeLink

# In mrkdwn, `<` opens a link or a mention; anything else after it means text was sent unescaped.
UNESCAPED = re.compile(r"<(?![@#!]|https?://|mailto:)")
# The scope each read method needs (Slack's method docs); without it Slack answers `missing_scope`.
NEEDS_SCOPE = {
    "conversations.info": "channels:read",
    "users.info": "users:read",
    "usergroups.list": "usergroups:read",
    "usergroups.users.list": "usergroups:read",
}


def channel(
    channel_id: str, name: str, *, member: bool = True, private: bool = False, archived: bool = False
) -> dict[str, Any]:
    """A conversation object as `conversations.info` returns it (the fields Shipmate reads, and their neighbours)."""
    return {
        "id": channel_id,
        "name": name,
        "is_channel": not private,
        "is_group": private,
        "is_im": False,
        "is_mpim": False,
        "is_private": private,
        "is_archived": archived,
        "is_general": False,
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "is_member": member,
        "created": 1700000000,
        "creator": "U0ADMIN",
        "name_normalized": name,
    }


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    target: str = ""  # for response_url calls: which URL (each command or click gets its own)
    client: str = ""  # which base URL the caller used (`FakeSlack.url_for`)
    token: str = ""  # the token it was called with (many workspaces: whose)

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
    client: str | None = None  # only calls through `url_for(client)`
    until: asyncio.Event | None = None  # hold the answer until the test sets this
    body: str | None = None  # a raw answer instead of Slack's JSON (a proxy's HTML page, an empty body)
    content_type: str = "application/json"  # of `body`
    reset: bool = False  # drop the connection without answering


@dataclass
class FakeSlack(FileUploads, OAuthGrants, Answers):
    calls: list[Call] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    user_timezones: dict[str, str] = field(default_factory=dict)
    missing_users: set[str] = field(default_factory=set)  # users.info answers user_not_found
    scopes: list[str] = field(default_factory=lambda: list(BOT_SCOPES))  # what the token was granted
    channels: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            "C0RELEASE": channel("C0RELEASE", "releases"),
            "C0STAKE": channel("C0STAKE", "stakeholders"),
        }
    )
    attempts: dict[str, int] = field(default_factory=dict)
    socket_mode: SocketModeLink = field(default_factory=SocketModeLink)
    openid: FakeOpenId = field(default_factory=FakeOpenId)  # Sign in with Slack
    teams_by_token: dict[str, str] = field(default_factory=dict)  # bot token → its workspace (default TEAM_ID)
    files: dict[str, Upload] = field(default_factory=dict)
    files_visible: bool = True  # False: finished uploads are not yet shown in image blocks (Slack still processing)
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    _token_ids: Any = field(default_factory=new_token_ids)
    _ts: Any = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition | None = None
    server: TestServer | None = None

    # -- test-facing API ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/api/"))

    def url_for(self, client: str) -> str:
        """A base URL of its own for one app process: its calls carry `client`, faults can target it."""
        assert self.server is not None
        return str(self.server.make_url(f"/{client}/api/"))

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
        app.router.add_post("/{client}/api/{method}", self._api)
        app.router.add_get("/{client}/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/link/", self.socket_mode.websocket)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/openid/connect/authorize", self.openid.authorize)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        self.socket_mode.url = str(self.server.make_url("/link/").with_scheme("ws"))

    async def close(self) -> None:
        await self.socket_mode.close()
        if self.server is not None:
            await self.server.close()

    async def _record_call(self, method: str, params: dict[str, Any]) -> None:
        await self._record(Call(method, params))

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
            parsed = dict(json.loads(raw or b"{}"))
        else:  # arguments may come in the form body or the query string (slack_sdk sends some methods' that way)
            parsed = {**dict(request.query), **{key: values[0] for key, values in parse_qs(raw.decode()).items()}}
        # Slack documents these as JSON-encoded strings, and takes them as objects in a JSON body too
        for key in ("blocks", "view", "attachments"):
            if isinstance(parsed.get(key), str):
                parsed[key] = json.loads(parsed[key])
        return parsed

    async def _respond(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        problem = self._validate("response_url", params)
        await self._record(Call("response_url", params, target=request.match_info["name"]))
        if problem:  # Slack answers a refused response_url message with a 400 and the error as text
            return web.Response(status=400, text="invalid_blocks")
        return web.Response(text="ok")

    def _fault(self, method: str, client: str) -> Fault | None:
        pending = self.faults.get(method) or []
        fault = next((f for f in pending if f.client in (None, client)), None)
        if fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                pending.remove(fault)
        return fault

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        client = request.match_info.get("client", "")
        params = await self._params(request)
        self.attempts[method] = self.attempts.get(method, 0) + 1
        scopes = {"x-oauth-scopes": ",".join(self.scopes)}  # Slack sends it on every answer
        fault = self._fault(method, client)
        if fault is not None:
            if fault.until is not None:
                await fault.until.wait()
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.reset:
                assert request.transport is not None
                request.transport.abort()  # the client reads a reset connection, no answer
                return web.Response()
            if fault.body is not None:
                return web.Response(status=fault.status, body=fault.body.encode(), content_type=fault.content_type)
            if fault.error:
                return web.json_response({"ok": False, "error": fault.error}, headers=scopes)
            if fault.status != 200:  # 200: held or delayed, then answered as usual
                headers = {
                    **scopes,
                    **({"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}),
                }
                error = "ratelimited" if fault.status == 429 else "fault"
                return web.json_response({"ok": False, "error": error}, status=fault.status, headers=headers)
        needed = NEEDS_SCOPE.get(method)
        if needed and needed not in self.scopes:
            refusal = {"ok": False, "error": "missing_scope", "needed": needed, "provided": ",".join(self.scopes)}
            return web.json_response(refusal, headers=scopes)
        problem = self._validate(method, params)
        if problem:
            return web.json_response({"ok": False, "error": "invalid_blocks", "detail": problem}, headers=scopes)
        if method.startswith("files."):
            return await self._files(method, params)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or str(params.get("token", ""))
        if method == "oauth.v2.access":
            if token.startswith("Basic "):  # slack_sdk sends the client's id and secret as HTTP basic auth
                client_id, _, secret = base64.b64decode(token.removeprefix("Basic ")).decode().partition(":")
                params |= {"client_id": client_id, "client_secret": secret}
            await self._record(Call(method, params, client=client))
            return web.json_response(self._oauth_answer(params), headers=scopes)
        if method.startswith("openid.connect."):  # a person's sign-in: the app's credentials or their own token
            await self._record(Call(method, params, client=client))
            said = self.openid.answer(method, params, request.headers.get("Authorization", ""))
            return web.json_response(said, headers=scopes)
        if self.tokens and not token.startswith("xapp") and token not in self.tokens and method != "auth.test":
            return web.json_response({"ok": False, "error": "invalid_auth"}, headers=scopes)
        await self._record(Call(method, params, client=client, token=token))
        if method == "auth.test" and token in self.teams_by_token:
            team = self.teams_by_token[token]
            return web.json_response(
                {"ok": True, "team_id": team, "user_id": BOT_USER_ID, "team": team}, headers=scopes
            )
        if method == "auth.test" and (answer := self._auth_test_answer(token)) is not None:
            return web.json_response(answer, headers=scopes)
        if method == "apps.connections.open":
            return web.json_response(self.socket_mode.open(request.headers.get("Authorization", "")), headers=scopes)
        return web.json_response(self._answer(method, params), headers=scopes)

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
                for block in blocks:
                    if block.get("type") == "image" and "slack_file" in block:
                        file_id = block["slack_file"].get("id")
                        ready = file_id in self.completed_files() and self.files_visible
                        assert ready, f"invalid slack file {file_id!r} [json-pointer:/blocks/slack_file]"
            if "view" in params:
                view = params["view"]
                View(**view).validate_json()
        except Exception as exc:  # record, and answer like Slack does
            self.invalid.append((method, f"{type(exc).__name__}: {exc}"))
            return str(exc)
        return None


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
