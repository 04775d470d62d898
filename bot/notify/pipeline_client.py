"""Outgoing requests to the pipeline, sent by the dispatcher from the outbox: a signed webhook to a service's CI,
GitHub's `workflow_dispatch`, and answers to GitHub deployment protection rules.

Plain aiohttp on the process's one connection pool: three small JSON calls do not need a second HTTP stack, and
retrying stays with the outbox (a client that retried by itself could dispatch a workflow twice).
"""

import json
import time
from typing import Any

import aiohttp

from bot.domain.pipeline import OutboxKind
from bot.domain.validation import is_number
from bot.settings import Settings
from bot.webhooks import signing

GITHUB_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
KINDS = frozenset(OutboxKind)


class PipelineError(Exception):
    """The other side refused or failed. `status` None: the request never got an answer."""

    def __init__(self, detail: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.retry_after = retry_after

    @property
    def permanent(self) -> bool:
        """A 4xx other than a timeout or rate limit: retrying alone will not fix it (a few tries still happen)."""
        return self.status is not None and 400 <= self.status < 500 and self.status not in (408, 425, 429)


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("Retry-After")
    if value and is_number(value):
        return float(value)
    if response.status in (403, 429) and response.headers.get("x-ratelimit-remaining") == "0":
        reset = response.headers.get("x-ratelimit-reset", "")
        return max(1.0, float(reset) - time.time()) if is_number(reset) else 60.0
    return None


class PipelineClient:
    def __init__(self, settings: Settings, *, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def send(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == OutboxKind.DEPLOY_WEBHOOK:
            await self._webhook(payload)
        elif kind == OutboxKind.WORKFLOW_DISPATCH:
            url = "{api}/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches".format(
                api=self.settings.shipmate_github_api_url, **payload
            )
            await self._github(url, {"ref": payload["ref"], "inputs": payload["inputs"]})
        elif kind == OutboxKind.PROTECTION_REVIEW:
            await self._github(payload["url"], payload["body"])
        else:
            raise ValueError(f"unknown pipeline kind {kind!r}")

    async def _webhook(self, payload: dict[str, Any]) -> None:
        secret = self.settings.shipmate_webhook_secret
        if not secret:
            raise PipelineError("SHIPMATE_WEBHOOK_SECRET is not set: deployment requests cannot be signed", status=400)
        body = json.dumps(payload["body"], separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", **signing.sign(secret, body, now=time.time())}
        await self._post(payload["url"], body, headers)

    async def _github(self, url: str, document: dict[str, Any]) -> None:
        token = self.settings.shipmate_github_token
        if not token:
            raise PipelineError("SHIPMATE_GITHUB_TOKEN is not set: GitHub cannot be called", status=401)
        headers = {**GITHUB_HEADERS, "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        await self._post(url, json.dumps(document).encode(), headers)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        assert self.session is not None, "start() first"
        try:
            async with self.session.post(url, data=body, headers=headers) as response:
                if response.status < 300:
                    return
                text = (await response.text(errors="replace"))[:300]
                raise PipelineError(
                    f"HTTP {response.status}: {' '.join(text.split())}",
                    status=response.status,
                    retry_after=_retry_after(response),
                )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise PipelineError(f"network: {type(exc).__name__} {exc}") from exc
