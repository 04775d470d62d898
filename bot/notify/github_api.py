"""Reading from GitHub's REST API: which commit a tag names, a repository's id, a comparison of two commits and
the pull requests of a commit. Plain aiohttp GETs on one
session, never following redirects (a moved repository is a policy to fix, not a place to send our token), with
GitHub's rate limits (403/429 with `Retry-After` or `x-ratelimit-reset`) reported as "try again at"."""

import time
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.domain.errors import CodeHostUnavailable
from bot.domain.release_notes import Comparison, PullInfo
from bot.domain.validation import is_number
from bot.notify import github_compare

HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
MAX_TAG_DEPTH = 3  # an annotated tag may point at another tag; more than this is not a release tag


def retry_after(response: aiohttp.ClientResponse) -> float | None:
    """Seconds GitHub asks us to wait: `Retry-After` (secondary limits), else until `x-ratelimit-reset`."""
    value = response.headers.get("Retry-After", "")
    if is_number(value):
        return float(value)
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = response.headers.get("x-ratelimit-reset", "")
        return max(1.0, float(reset) - time.time()) if is_number(reset) else 60.0
    return None


class GitHubReader:
    def __init__(self, api_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.session: aiohttp.ClientSession | None = None
        self.calls = 0  # requests made, for the benchmark and the logs

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def _get(self, path: str) -> dict[str, Any] | None:
        """The JSON object at `path`, None on 404; `CodeHostUnavailable` for anything else GitHub or the network
        says (with when to try again, when GitHub said)."""
        document, _next = await self.get_page(self.api_url + path)
        if document is None:
            return None
        if not isinstance(document, dict):
            raise CodeHostUnavailable("GitHub answered something that is not a JSON object")
        return document

    async def get_page(self, url: str) -> tuple[Any, str | None]:
        """The JSON document at `url` (None on 404) and the `Link` header's next page, if any; only addresses on the
        API's own base are asked (a `Link` pointing elsewhere never receives our token)."""
        assert self.session is not None, "start() first"
        if not url.startswith(self.api_url + "/"):
            raise CodeHostUnavailable("GitHub pointed at a page outside its API; not followed")
        headers = dict(HEADERS)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.calls += 1
        try:
            async with self.session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status == 404:
                    return None, None
                if response.status != 200:
                    raise CodeHostUnavailable(
                        f"GitHub answered HTTP {response.status} {response.reason or ''}".strip(),
                        retry_after=retry_after(response),
                    )
                document = await response.json(content_type=None)
                following = response.links.get("next")
                next_url = str(following.get("url")) if following else None
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise CodeHostUnavailable(f"GitHub could not be reached: {type(exc).__name__}") from exc
        return document, next_url

    async def tag_commit(self, repository: str, tag: str) -> str | None:
        """The commit `tag` names in `repository` (an annotated tag is followed to its commit); None when the
        repository has no such tag. Only tags: a branch with the same name never counts."""
        document = await self._get(f"/repos/{repository}/git/ref/tags/{quote(tag, safe='')}")
        for _ in range(MAX_TAG_DEPTH):
            if document is None:
                return None
            target = document.get("object")
            if not isinstance(target, dict):
                return None
            sha, kind = target.get("sha"), target.get("type")
            if not isinstance(sha, str):
                return None
            if kind == "commit":
                return sha.lower()
            if kind != "tag":
                return None
            document = await self._get(f"/repos/{repository}/git/tags/{sha}")
        return None

    async def compare(self, repository: str, base: str, head: str) -> Comparison | None:
        """GitHub's compare of `base...head`, every page read; None when either commit is unknown there."""
        return await github_compare.compare(self, repository, base, head)

    async def pull(self, repository: str, number: int) -> PullInfo | None:
        document = await self._get(f"/repos/{repository}/pulls/{number}")
        return github_compare.pull_of(document) if document is not None else None

    async def commit_pulls(self, repository: str, sha: str) -> list[PullInfo]:
        """The pull requests a commit belongs to (merged ones first, as GitHub lists them)."""
        document, _next = await self.get_page(f"{self.api_url}/repos/{repository}/commits/{sha}/pulls")
        items = document if isinstance(document, list) else []
        return [pull for pull in (github_compare.pull_of(item) for item in items) if pull is not None]

    async def repository_id(self, repository: str) -> int | None:
        """GitHub's id of `repository` (stable across renames), None when it does not exist or is not visible."""
        document = await self._get(f"/repos/{repository}")
        value = None if document is None else document.get("id")
        return value if isinstance(value, int) else None
