"""`python -m bench.release_notes [--commits 1000] [--latency-ms 0]`: what a release's notes cost to compute.

A fake GitHub (aiohttp, in this process) serves one repository's history in GitHub's shapes: compare pages of 100
commits with a `Link` header, pull requests. The real client (`bot.notify.github_api.GitHubReader`) and the real
computation (`bot.services.releases.notes.compute`) read a compare of N commits three ways: merge commits ("Merge
pull request #N", one pull request per 10 commits), squash merges ("Title (#N)", every commit a pull request), and
rebase merges (no message names a pull request: `commits/{sha}/pulls` for at most 100 commits). Pull requests are
asked for (`pulls/{n}`) up to 100; past that they are read from their commits' messages. Printed per way:
GitHub calls, wall time (with `--latency-ms` added to every answer, as GitHub's own would be), the peak memory the
computation allocated (tracemalloc) and the size of the stored notes. Figures only; nothing here asserts a time.
"""

import argparse
import asyncio
import hashlib
import json
import time
import tracemalloc
from typing import Any

from aiohttp import web

from bot.domain.tickets import Trackers
from bot.notify.github_api import GitHubReader
from bot.services.releases.notes import Base, compute

REPO = "acme/payments"


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def history(commits: int, style: str) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """`commits` commits after a base commit, and the pull requests they belong to."""
    rows: list[dict[str, Any]] = [{"sha": _sha("base"), "message": "Initial import", "pulls": []}]
    pulls: dict[int, dict[str, Any]] = {}
    for index in range(commits):
        number = index // 10 + 1 if style == "merge" else index + 1
        if style == "merge" and index % 10 == 9:
            message = f"Merge pull request #{number} from acme/pay-{number}\n\nPAY-{number} change {number}"
        elif style == "squash":
            message = f"feat: change {number} (#{number})\n\nCloses PAY-{number}"
        else:
            message = f"fix: step {index} of PAY-{number}"
        sha = _sha(f"{style}:{index}")
        rows.append({"sha": sha, "message": message, "pulls": [number]})
        pulls.setdefault(number, {"number": number, "title": f"Change {number}", "branch": f"pay-{number}", "shas": []})
        pulls[number]["shas"].append(sha)
    return rows, pulls


def _commit(api: str, row: dict[str, Any]) -> dict[str, Any]:
    person = {"name": "Mona Lisa", "email": "octocat@github.com", "date": "2026-06-01T12:00:00Z"}
    return {
        "sha": row["sha"],
        "url": f"{api}/repos/{REPO}/commits/{row['sha']}",
        "html_url": f"https://github.com/{REPO}/commit/{row['sha']}",
        "commit": {"author": person, "committer": person, "message": row["message"], "comment_count": 0},
        "author": {"login": "octocat", "id": 1, "type": "User"},
        "committer": {"login": "web-flow", "id": 19864447, "type": "User"},
        "parents": [{"sha": "0" * 40}],
    }


def _pull(pull: dict[str, Any]) -> dict[str, Any]:
    number = pull["number"]
    return {
        "number": number,
        "html_url": f"https://github.com/{REPO}/pull/{number}",
        "title": pull["title"],
        "user": {"login": "octocat", "id": 1},
        "body": f"Implements PAY-{number}.",
        "labels": [{"id": 1, "name": "enhancement"}],
        "head": {"ref": pull["branch"], "sha": pull["shas"][0]},
        "merge_commit_sha": pull["shas"][-1],  # the merge (or squash) commit, as GitHub gives it
        "merged_at": "2026-06-01T12:00:00Z",
    }


class FakeGitHub:
    def __init__(self, rows: list[dict[str, Any]], pulls: dict[int, dict[str, Any]], latency: float) -> None:
        self.rows, self.pulls, self.latency = rows, pulls, latency
        self.calls = 0
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/repos/{owner}/{repo}/compare/{base}...{head}", self.compare)
        app.router.add_get("/repos/{owner}/{repo}/pulls/{number}", self.pull)
        app.router.add_get("/repos/{owner}/{repo}/commits/{sha}/pulls", self.commit_pulls)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

    async def _answered(self) -> None:
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)

    async def compare(self, request: web.Request) -> web.Response:
        await self._answered()
        span = self.rows[1:]
        per_page, page = int(request.query.get("per_page", "30")), int(request.query.get("page", "1"))
        shown = span[(page - 1) * per_page : page * per_page]
        document = {
            "html_url": f"https://github.com/{REPO}/compare/{self.rows[0]['sha']}...{span[-1]['sha']}",
            "status": "ahead",
            "ahead_by": len(span),
            "behind_by": 0,
            "total_commits": len(span),
            "commits": [_commit(self.url, row) for row in shown],
            "files": [] if page > 1 else [{"filename": "ledger.py", "status": "modified"}],
        }
        headers = {}
        if page * per_page < len(span):
            headers["Link"] = f'<{self.url}{request.path}?per_page={per_page}&page={page + 1}>; rel="next"'
        return web.json_response(document, headers=headers)

    async def pull(self, request: web.Request) -> web.Response:
        await self._answered()
        return web.json_response(_pull(self.pulls[int(request.match_info["number"])]))

    async def commit_pulls(self, request: web.Request) -> web.Response:
        await self._answered()
        sha = request.match_info["sha"]
        return web.json_response([_pull(p) for p in self.pulls.values() if sha in p["shas"]])


async def measure(commits: int, style: str, latency: float) -> dict[str, Any]:
    rows, pulls = history(commits, style)
    github = FakeGitHub(rows, pulls, latency)
    await github.start()
    reader = GitHubReader(github.url, "ghs_bench")
    await reader.start()
    trackers = Trackers.of("https://acme.atlassian.net", None, "https://api.github.com")
    try:
        tracemalloc.start()
        started = time.perf_counter()
        base = Base(rows[0]["sha"], "payments@1.0.0")
        notes, calls = await compute(reader, trackers, REPO, base, rows[-1]["sha"], api_url=github.url)
        elapsed = time.perf_counter() - started
        _size, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        await reader.close()
        assert github.runner is not None
        await github.runner.cleanup()
    return {
        "style": style,
        "commits": notes.total_commits,
        "pull_requests": len(notes.pulls),
        "tickets": len(notes.tickets),
        "calls": calls,
        "served": github.calls,
        "seconds": round(elapsed, 3),
        "peak_mb": round(peak / 2**20, 2),
        "stored_kb": round(len(json.dumps(notes.to_json())) / 1024, 1),
    }


async def main(commits: int, latency_ms: float) -> None:
    print(f"Release notes of a compare of {commits} commits (fake GitHub, +{latency_ms:g} ms an answer)")
    header = f"{'messages':<9} {'commits':>7} {'PRs':>5} {'tickets':>7} {'calls':>5} {'time s':>7} {'peak MB':>7}"
    print(header + f" {'stored KB':>9}")
    for style in ("merge", "squash", "rebase"):
        row = await measure(commits, style, latency_ms / 1000)
        assert row["calls"] == row["served"], row
        print(
            f"{style:<9} {row['commits']:>7} {row['pull_requests']:>5} {row['tickets']:>7} {row['calls']:>5} "
            f"{row['seconds']:>7} {row['peak_mb']:>7} {row['stored_kb']:>9}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.commits, arguments.latency_ms))
