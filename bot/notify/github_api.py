"""Reading from GitHub's REST API: which commit a tag names, and a repository's id. Plain aiohttp GETs on one
session, never following redirects (a moved repository is a policy to fix, not a place to send our token), with
GitHub's rate limits (403/429 with `Retry-After` or `x-ratelimit-reset`) reported as "try again at"."""

import time
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.domain.errors import CodeHostUnavailable
from bot.domain.validation import is_number

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

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def _get(self, path: str) -> dict[str, Any] | None:
        """The JSON object at `path`, None on 404; `CodeHostUnavailable` for anything else GitHub or the network
        says (with when to try again, when GitHub said)."""
        assert self.session is not None, "start() first"
        headers = dict(HEADERS)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            async with self.session.get(self.api_url + path, headers=headers, allow_redirects=False) as response:
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise CodeHostUnavailable(
                        f"GitHub answered HTTP {response.status} {response.reason or ''}".strip(),
                        retry_after=retry_after(response),
                    )
                document = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise CodeHostUnavailable(f"GitHub could not be reached: {type(exc).__name__}") from exc
        if not isinstance(document, dict):
            raise CodeHostUnavailable("GitHub answered something that is not a JSON object")
        return document

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

    async def repository_id(self, repository: str) -> int | None:
        """GitHub's id of `repository` (stable across renames), None when it does not exist or is not visible."""
        document = await self._get(f"/repos/{repository}")
        value = None if document is None else document.get("id")
        return value if isinstance(value, int) else None
