"""Everything Slack does, in the bench process: the Web API the server calls (answers at once, counts calls),
the response_url receiver, and a closed-loop load generator signing every request afresh."""

import asyncio
import hashlib
import hmac
import itertools
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bench.seed import HOME_USERS

TEAM_ID = "T0BENCH"
SECRET = "bench-signing-secret"


@dataclass
class SlackSide:
    port: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    answers: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    homes: dict[str, asyncio.Future[float]] = field(default_factory=dict)  # user id → their views.publish
    _ts: Any = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack_sdk sends usergroups.users.list as GET
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
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
        if method == "files.getUploadURLExternal":  # files_upload_v2, step 1 of 3
            file_id = f"F0{next(self._ts):08d}"
            url = f"http://127.0.0.1:{self.port}/upload/{file_id}"
            return web.json_response({"ok": True, "upload_url": url, "file_id": file_id})
        if method == "files.completeUploadExternal":  # step 3 (step 2 posts the bytes to the upload URL)
            files = json.loads(request.query.get("files") or "[]")
            return web.json_response({"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]})
        if method == "views.publish":
            future = self.homes.pop(str(json.loads(raw).get("user_id")), None)
            if future is not None and not future.done():
                future.set_result(time.perf_counter())
            return web.json_response({"ok": True, "view": {"id": "V0HOME"}})
        return web.json_response({"ok": True, "channel": "C0RELEASE", "ts": f"1700000000.{next(self._ts):06d}"})

    async def _upload(self, request: web.Request) -> web.Response:
        size = len(await request.read())
        self.calls["upload"] = self.calls.get("upload", 0) + 1
        return web.Response(text=f"OK - {size}")

    async def _respond(self, request: web.Request) -> web.Response:
        await request.read()
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


@dataclass
class Stats:
    requests: int
    seconds: float
    ack_ms: list[float]
    answer_ms: list[float]
    errors: int

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> dict[str, float]:
        return {
            "rps": self.requests / self.seconds,
            "ack_p50": self.pct(self.ack_ms, 0.5),
            "ack_p99": self.pct(self.ack_ms, 0.99),
            "answer_p50": self.pct(self.answer_ms, 0.5),
            "answer_p99": self.pct(self.answer_ms, 0.99),
            "answer_mean": statistics.fmean(self.answer_ms) if self.answer_ms else float("nan"),
            "errors": self.errors,
            "requests": self.requests,
        }


async def load(
    side: SlackSide,
    url: str,
    text: Callable[[int, int], str],
    *,
    seconds: float,
    concurrency: int = 20,
    warmup: float = 1.0,
    wait_answer: bool = True,
    home: bool = False,
) -> Stats:
    """Closed loop: each of `concurrency` connections sends a command, then waits for its ack and (for Shipmate)
    its answer on response_url before sending the next. Counts only what completes after the warm-up.
    With `home`, connection n is home user n opening their App Home instead (`text` is unused): the ack is the
    event's HTTP 200, the answer the server's `views.publish` for that user."""
    acks: list[float] = []
    answers: list[float] = []
    errors = 0
    done = 0
    keys = itertools.count()
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def worker(session: aiohttp.ClientSession, n: int) -> None:
        nonlocal errors, done
        i = 0
        while time.perf_counter() < stop_at:
            key = f"k{next(keys)}"
            future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            if home:
                key = HOME_USERS[n % len(HOME_USERS)]
                registry, body, kind = side.homes, home_opened(key, f"Ev{next(keys)}"), "application/json"
            else:
                registry, kind = side.answers, "application/x-www-form-urlencoded"
                body = command(text(n, i), f"http://127.0.0.1:{side.port}/respond/{key}")
            registry[key] = future
            i += 1
            sent = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=signed(body, kind)) as response:
                    await response.read()
                    acked = time.perf_counter()
                    ok = response.status == 200
                finished = await asyncio.wait_for(future, 30) if wait_answer else acked
            except (TimeoutError, aiohttp.ClientError):
                registry.pop(key, None)
                errors += 1
                continue
            if not ok:
                errors += 1
            if sent >= measure_from and finished <= stop_at:
                acks.append((acked - sent) * 1000)
                answers.append((finished - sent) * 1000)
                done += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session, n) for n in range(concurrency)))
    return Stats(done, seconds, acks, answers, errors)
