"""The other side of the pipeline: a CI webhook receiver and the parts of GitHub's REST API Shipmate calls
(`workflow_dispatch`, protection rule reviews, reading a tag's commit and a repository's id), answering as they do
(a 200 for CI, GitHub's 204 No Content, GitHub's JSON documents and its 404 and rate-limit answers), recording every
request with its headers and raw body, and failing on demand: a status, any answer (a redirect, a body that must not
travel further), or no answer at all (a CI that hangs)."""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.github_history import History, compare_answer, pull_document

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


@dataclass(frozen=True)
class Refusal:
    """A GitHub GET answered with this status, headers and GitHub's error document."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "Server Error"


@dataclass
class FakePipeline:
    received: list[Received] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before answering normally
    # GitHub's git data, by "owner/repo": tag → commit (lightweight tags) or tag → ("tag", tag object sha, commit).
    tags: dict[str, dict[str, str | tuple[str, str, str]]] = field(default_factory=dict)
    repository_ids: dict[str, int] = field(default_factory=dict)
    histories: dict[str, History] = field(default_factory=dict)  # "owner/repo" → its branch (compare, pulls)
    read_fail_next: list[Refusal] = field(default_factory=list)  # answers to GETs before answering normally
    reads: list[str] = field(default_factory=list)  # GET paths, in order
    read_answer_next: list[Callable[[], web.Response]] = field(default_factory=list)  # any answers to GETs first
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
        app.router.add_get("/repos/{owner}/{repo}/git/ref/tags/{tag:.+}", self._tag_ref)
        app.router.add_get("/repos/{owner}/{repo}/git/tags/{sha}", self._tag_object)
        app.router.add_get("/repos/{owner}/{repo}/compare/{base}...{head}", self._compare)
        app.router.add_get("/repos/{owner}/{repo}/pulls/{number:\\d+}", self._pull)
        app.router.add_get("/repos/{owner}/{repo}/commits/{sha}/pulls", self._commit_pulls)
        app.router.add_get("/repos/{owner}/{repo}", self._repository)
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

    # -- GitHub's REST API, read side ---------------------------------------------------------------------
    def _read(self, request: web.Request) -> web.Response | None:
        self.reads.append(request.path)
        if self.read_answer_next:
            return self.read_answer_next.pop(0)()
        if self.read_fail_next:
            refusal = self.read_fail_next.pop(0)
            body = {"message": refusal.message, "documentation_url": "https://docs.github.com/rest"}
            return web.json_response(body, status=refusal.status, headers=refusal.headers)
        return None

    @staticmethod
    def _not_found(doc: str) -> web.Response:
        body = {"message": "Not Found", "documentation_url": f"https://docs.github.com/rest/{doc}", "status": "404"}
        return web.json_response(body, status=404)

    async def _tag_ref(self, request: web.Request) -> web.Response:
        refused = self._read(request)
        if refused is not None:
            return refused
        repository = f"{request.match_info['owner']}/{request.match_info['repo']}"
        tag = request.match_info["tag"]
        target = self.tags.get(repository, {}).get(tag)
        if target is None:
            return self._not_found("git/refs#get-a-reference")
        sha, kind = (target, "commit") if isinstance(target, str) else (target[1], "tag")
        api = f"{self.url}/repos/{repository}"
        body = {
            "ref": f"refs/tags/{tag}",
            "node_id": "MDM6UmVmcmVmcy9oZWFkcy9mZWF0dXJlQQ==",
            "url": f"{api}/git/refs/tags/{tag}",
            "object": {"type": kind, "sha": sha, "url": f"{api}/git/{kind}s/{sha}"},
        }
        return web.json_response(body)

    async def _tag_object(self, request: web.Request) -> web.Response:
        refused = self._read(request)
        if refused is not None:
            return refused
        repository = f"{request.match_info['owner']}/{request.match_info['repo']}"
        sha = request.match_info["sha"]
        for tag, target in self.tags.get(repository, {}).items():
            if isinstance(target, tuple) and target[1] == sha:
                api = f"{self.url}/repos/{repository}"
                body = {
                    "node_id": "MDM6VGFnOTQwYmQzMzYyNDhlZmFlMGY5ZWU1YmM3YjJkNWM5ODU4ODdiMTZhYw==",
                    "tag": tag,
                    "sha": sha,
                    "url": f"{api}/git/tags/{sha}",
                    "message": f"release {tag}",
                    "tagger": {
                        "name": "Monalisa Octocat",
                        "email": "octocat@github.com",
                        "date": "2026-06-01T12:00:00Z",
                    },
                    "object": {"type": "commit", "sha": target[2], "url": f"{api}/git/commits/{target[2]}"},
                    "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
                }
                return web.json_response(body)
        return self._not_found("git/tags#get-a-tag")

    async def _repository(self, request: web.Request) -> web.Response:
        refused = self._read(request)
        if refused is not None:
            return refused
        repository = f"{request.match_info['owner']}/{request.match_info['repo']}"
        if repository not in self.repository_ids:
            return self._not_found("repos/repos#get-a-repository")
        return web.json_response(
            {"id": self.repository_ids[repository], "full_name": repository, "private": False, "name": repository}
        )

    def history(self, repository: str) -> History:
        return self.histories.setdefault(repository, History(repository))

    def _history_of(self, request: web.Request) -> History:
        return self.history(f"{request.match_info['owner']}/{request.match_info['repo']}")

    async def _compare(self, request: web.Request) -> web.Response:
        refused = self._read(request)
        if refused is not None:
            return refused
        base, head = request.match_info["base"], request.match_info["head"]
        return compare_answer(request, self._history_of(request), base, head, self.url)

    async def _pull(self, request: web.Request) -> web.Response:
        refused = self._read(request)
        if refused is not None:
            return refused
        history = self._history_of(request)
        pull = history.pulls.get(int(request.match_info["number"]))
        if pull is None:
            return self._not_found("pulls/pulls#get-a-pull-request")
        return web.json_response(pull_document(self.url, self.url, history.repository, pull))

    async def _commit_pulls(self, request: web.Request) -> web.Response:
        refused = self._read(request)
        if refused is not None:
            return refused
        history, sha = self._history_of(request), request.match_info["sha"]
        found = [pull for pull in history.pulls.values() if sha in pull.commits]
        return web.json_response([pull_document(self.url, self.url, history.repository, pull) for pull in found])
