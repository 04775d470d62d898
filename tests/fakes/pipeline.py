"""The other side of the pipeline: a CI webhook receiver and the parts of GitHub's REST API Shipmate calls
(`workflow_dispatch`, protection rule reviews), answering as they do (a 200 for CI, GitHub's 204 No Content),
recording every request with its headers and raw body, and failing on demand: a status, any answer (a redirect,
a body that must not travel further), or no answer at all (a CI that hangs)."""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CI_PATH = "/hooks/shipmate"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    query: str = ""

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class FakePipeline:
    received: list[Received] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before answering normally
    answer_next: list[Callable[[], web.Response]] = field(default_factory=list)  # answers to give before that
    hang: set[str] = field(default_factory=set)  # paths that never answer (until `close`)
    arrived: list[str] = field(default_factory=list)  # every request's path as it arrives, answered or not
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ci_url(self) -> str:
        return self.url + CI_PATH

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/hooks/{name}", self._ci)
        app.router.add_post("/elsewhere/{tail:.*}", self._ci)  # where a redirect points: must stay empty
        app.router.add_post("/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches", self._github)
        app.router.add_post("/repos/{owner}/{repo}/actions/runs/{run}/deployment_protection_rule", self._github)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = port or site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def answer_hung(self) -> None:
        """The requests held by `hang` get their answer now (paths still in `hang` hold the next ones again)."""
        released, self._released = self._released, asyncio.Event()
        released.set()

    def to(self, path_part: str) -> list[Received]:
        return [r for r in self.received if path_part in r.path]

    async def wait_for(
        self,
        predicate: Callable[[Received], bool],
        *,
        count: int = 1,
        timeout: float = 10,  # noqa: ASYNC109 (the timeout is the assertion)
    ) -> list[Received]:
        async def until() -> list[Received]:
            async with self._changed:
                await self._changed.wait_for(lambda: len([r for r in self.received if predicate(r)]) >= count)
            return [r for r in self.received if predicate(r)]

        try:
            return await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(f"expected {count} request(s); got {[r.path for r in self.received]}") from None

    async def settle(self, quiet: float = 0.5) -> None:
        seen = -1
        while seen != len(self.received):
            seen = len(self.received)
            await asyncio.sleep(quiet)

    async def _record(self, request: web.Request) -> web.Response | None:
        received = Received(request.path, dict(request.headers), await request.read(), request.query_string)
        self.arrived.append(request.path)
        if request.path in self.hang:
            await self._released.wait()
        if self.answer_next:
            return self.answer_next.pop(0)()
        if self.fail_next:
            return web.json_response({"message": "Server Error"}, status=self.fail_next.pop(0))
        self.received.append(received)
        async with self._changed:
            self._changed.notify_all()
        return None

    async def _ci(self, request: web.Request) -> web.Response:
        return await self._record(request) or web.json_response({"ok": True})

    async def _github(self, request: web.Request) -> web.Response:
        return await self._record(request) or web.Response(status=204)
