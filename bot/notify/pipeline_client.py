"""Outgoing requests to the pipeline, sent by the dispatcher from the outbox: a signed webhook to a service's CI,
GitHub's `workflow_dispatch`, and answers to GitHub deployment protection rules.

Plain aiohttp on the process's one connection pool: three small JSON calls do not need a second HTTP stack, and
retrying stays with the outbox (a client that retried by itself could dispatch a workflow twice). Redirects are
never followed (a signed body re-posted to wherever a 307 points is a signed body given away), http is refused
unless the host is this machine or the deployer allows it, and nothing a deployer answers is repeated: an error
says "HTTP <status> <reason>" (the standard phrase, not the server's) or which network error, with URLs redacted.
"""

import json
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin

import aiohttp

from bot import signing
from bot.domain import outgoing
from bot.domain.pipeline import OutboxKind
from bot.domain.policy import Deployer
from bot.domain.validation import is_number
from bot.settings import Settings

GITHUB_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
KINDS: frozenset[str] = frozenset(OutboxKind)


class PipelineError(Exception):
    """The other side refused or failed. `status` None: the request never got an answer. `fatal`: no retry can
    ever succeed (a redirect, a deployer the policy no longer has, a URL Shipmate may not call)."""

    def __init__(
        self, detail: str, *, status: int | None = None, retry_after: float | None = None, fatal: bool = False
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.retry_after = retry_after
        self.fatal = fatal

    @property
    def permanent(self) -> bool:
        """A 4xx other than a timeout or rate limit: retrying alone will not fix it (a few tries still happen)."""
        return self.fatal or (
            self.status is not None and 400 <= self.status < 500 and self.status not in (408, 425, 429)
        )


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("Retry-After")
    if value and is_number(value):
        return float(value)
    if response.status in (403, 429) and response.headers.get("x-ratelimit-remaining") == "0":
        reset = response.headers.get("x-ratelimit-reset", "")
        return max(1.0, float(reset) - time.time()) if is_number(reset) else 60.0
    return None


def status_words(status: int) -> str:
    """`HTTP 503 Service Unavailable`: the standard reason phrase, never the one the server sent."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


class PipelineClient:
    def __init__(self, settings: Settings, *, timeout: float) -> None:
        self.settings = settings
        self.timeout_seconds = timeout
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def send(self, kind: str, payload: dict[str, Any], *, deployer: Deployer | None = None) -> None:
        """`deployer`: the service's deployer in the policy now (a webhook's URL is read from it, never stored)."""
        if kind == OutboxKind.DEPLOY_WEBHOOK:
            await self._webhook(payload, deployer)
        elif kind == OutboxKind.WORKFLOW_DISPATCH:
            url = "{api}/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches".format(
                api=self.settings.shipmate_github_api_url, **payload
            )
            await self._github(url, {"ref": payload["ref"], "inputs": payload["inputs"]})
        elif kind == OutboxKind.PROTECTION_REVIEW:
            await self._github(payload["url"], payload["body"])
        else:
            raise ValueError(f"unknown pipeline kind {kind!r}")

    async def _webhook(self, payload: dict[str, Any], deployer: Deployer | None) -> None:
        service = webhook_service(payload)
        if deployer is None or not deployer.webhook:
            raise PipelineError(
                f"{service} has no webhook deployer in the policy any more ([services.{service}.deploy] webhook), "
                "so nothing was sent; ask again once the policy names one",
                fatal=True,
            )
        trouble = outgoing.problem(deployer.webhook, allow_http=deployer.allow_http)
        if trouble:
            raise PipelineError(trouble, fatal=True)
        secret = self.settings.shipmate_webhook_secret
        if not secret:
            raise PipelineError("SHIPMATE_WEBHOOK_SECRET is not set: deployment requests cannot be signed", status=400)
        body = json.dumps(payload["body"], separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", **signing.sign(secret, body, now=time.time())}
        await self._post(deployer.webhook, body, headers, who="the deployer", fix="the service's deploy webhook")

    async def _github(self, url: str, document: dict[str, Any]) -> None:
        if outgoing.problem(url):
            raise PipelineError(
                f"GitHub is called over https only (or on this machine): {outgoing.redact(url)} is not; "
                "check SHIPMATE_GITHUB_API_URL",
                fatal=True,
            )
        token = self.settings.shipmate_github_token
        if not token:
            raise PipelineError("SHIPMATE_GITHUB_TOKEN is not set: GitHub cannot be called", status=401)
        headers = {**GITHUB_HEADERS, "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        await self._post(url, json.dumps(document).encode(), headers, who="GitHub", fix="SHIPMATE_GITHUB_API_URL")

    async def _post(self, url: str, body: bytes, headers: dict[str, str], *, who: str, fix: str) -> None:
        assert self.session is not None, "start() first"
        try:
            async with self.session.post(url, data=body, headers=headers, allow_redirects=False) as response:
                if 300 <= response.status < 400:
                    raise PipelineError(
                        f"{who} answered HTTP {response.status} ({_redirect(url, response)}); Shipmate "
                        f"does not follow redirects: point {fix} at the final URL",
                        status=response.status,
                        fatal=True,
                    )
                if response.status < 300:
                    return
                raise PipelineError(
                    status_words(response.status), status=response.status, retry_after=_retry_after(response)
                )
        except TimeoutError as exc:
            raise PipelineError(f"network: no answer within {self.timeout_seconds:g} s (TimeoutError)") from exc
        except aiohttp.ClientError as exc:  # its words may hold the URL: the class says enough
            raise PipelineError(f"network: {type(exc).__name__}") from exc


def _redirect(url: str, response: aiohttp.ClientResponse) -> str:
    location = response.headers.get("Location", "")
    if not location:
        return "a redirect without a Location"
    try:
        target = urljoin(url, location)
    except ValueError:
        return "a redirect to an unreadable URL"
    return f"a redirect to {outgoing.redact(target)}"


def webhook_service(payload: dict[str, Any]) -> str:
    """The service a deploy webhook row is for (rows written before the URL left the payload name it in the body)."""
    return str(payload.get("service") or payload.get("body", {}).get("service", ""))
