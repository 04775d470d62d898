"""`POST /hooks/github`: GitHub's webhooks, verified with `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with
SHIPMATE_GITHUB_WEBHOOK_SECRET), idempotent on what the signature covers: the deployment status's id, the
deployment's id (`X-GitHub-Delivery` is not signed: a captured body re-sent under a fresh delivery id is the same
event).

Events: `ping` (200), `deployment_status`, `deployment_protection_rule`. Anything else, or a repository or
environment the policy does not map, is acknowledged (202) and ignored, so GitHub's delivery log says why. A
repository is matched by name and, when the policy pins it (`github_repository_id`), by GitHub's id too. The
models read only the fields we use, as GitHub publishes them (tests replay GitHub's own example payloads).
"""

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot import logs
from bot.domain.errors import NotFound
from bot.notify.installation import Installation
from bot.policy_dir import Policies
from bot.services.kernel.context import ServiceContext
from bot.services.pipeline import github_events
from bot.services.pipeline.github_events import GithubDeployment, Handled
from bot.webhooks import bodies
from bot.webhooks.errors import BadSignature, InvalidBody, InvalidDelivery, WebhookDisabled
from bot.webhooks.fields import parse
from bot.webhooks.github_workspace import workspace_of

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Repository(_Model):
    id: int
    full_name: str = Field(max_length=200)


class Deployment(_Model):
    id: int
    sha: str = Field(pattern=r"^[0-9a-fA-F]{40}$")
    ref: str | None = Field(default=None, max_length=255)
    environment: str = Field(max_length=255)
    payload: dict[str, Any] | str | None = None

    @field_validator("payload")
    @classmethod
    def _object(cls, value: dict[str, Any] | str | None) -> dict[str, Any] | None:
        """GitHub sends the payload as an object; deployments made with a JSON string come back as one."""
        if isinstance(value, str):
            try:
                value = json.loads(value) if value else None
            except ValueError:
                return None
        return value if isinstance(value, dict) else None


class DeploymentStatus(_Model):
    id: int
    state: str = Field(max_length=20)
    environment: str | None = Field(default=None, max_length=255)
    target_url: str | None = None
    log_url: str | None = None


class DeploymentStatusEvent(_Model):
    action: str
    deployment_status: DeploymentStatus
    deployment: Deployment
    repository: Repository


class ProtectionRuleEvent(_Model):
    action: str
    environment: str = Field(max_length=255)
    deployment_callback_url: str = Field(max_length=1000)
    deployment: Deployment
    repository: Repository


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = header.strip().lower()
    return given.isascii() and hmac.compare_digest(expected, given)


def _link(status: DeploymentStatus) -> str | None:
    """The run to link: `target_url`, else `log_url` (GitHub sends "" when there is none)."""
    for url in (status.target_url, status.log_url):
        if url and url.startswith(("https://", "http://")) and len(url) <= 500 and not any(c in url for c in " <>|"):
            return url
    return None


def _ignored(reason: str) -> web.Response:
    return web.json_response({"ok": True, "status": "ignored", "message": reason}, status=202)


def _answer(handled: Handled) -> web.Response:
    status = 202 if handled.status == "ignored" else 200
    return web.json_response({"ok": True, "status": handled.status, "message": handled.message}, status=status)


async def receive(
    request: web.Request, ctx: ServiceContext, installation: Installation, policies: Policies
) -> web.Response:
    body = await bodies.read(request, limit=bodies.GITHUB)
    settings = ctx.settings
    if not settings.shipmate_github_webhook_secret:
        raise WebhookDisabled("SHIPMATE_GITHUB_WEBHOOK_SECRET is not set on the server.")
    if not signature_ok(settings.shipmate_github_webhook_secret, body, request.headers.get(SIGNATURE_HEADER)):
        raise BadSignature("{header} must be sha256=<hex HMAC-SHA256 of the body>.", header=SIGNATURE_HEADER)
    event = request.headers.get(EVENT_HEADER, "")
    delivery = request.headers.get(DELIVERY_HEADER, "").strip()
    if event == "ping":
        return web.json_response({"ok": True, "status": "pong"})
    if not delivery or len(delivery) > 80 or not (delivery.isascii() and delivery.isprintable()):
        raise InvalidDelivery("{header} must name the delivery.", header=DELIVERY_HEADER)
    if event not in ("deployment_status", "deployment_protection_rule"):
        return _ignored(f"Shipmate does not use {event or 'unnamed'} events.")
    model: type[DeploymentStatusEvent | ProtectionRuleEvent] = (
        DeploymentStatusEvent if event == "deployment_status" else ProtectionRuleEvent
    )
    parsed = parse(model, body)
    team_id = await workspace_of(settings, installation, policies.book, parsed.repository.full_name)
    logs.bind(team=team_id)
    ctx = ctx.for_team(team_id)
    deployment = _deployment(ctx, parsed, team_id)
    if isinstance(deployment, web.Response):
        return deployment
    try:
        if isinstance(parsed, DeploymentStatusEvent):
            status = parsed.deployment_status
            handled = await github_events.deployment_status(ctx, deployment, status.id, status.state, _link(status))
        else:
            callback = parsed.deployment_callback_url
            problem = callback_problem(settings.shipmate_github_api_url, parsed.repository.full_name, callback)
            if problem is not None:
                raise InvalidBody.about("deployment_callback_url", problem)
            handled = await github_events.protection_rule(ctx, deployment, callback)
    except NotFound as refused:  # what the event names is unknown here: acknowledged, and GitHub's log says why
        return _ignored(refused.plain)
    return _answer(handled)


def _deployment(
    ctx: ServiceContext, parsed: DeploymentStatusEvent | ProtectionRuleEvent, team_id: str
) -> GithubDeployment | web.Response:
    """The deployment the event is about, in the policy's words; or the 202 that ignores a repository or an
    environment the policy does not map."""
    repository = parsed.repository
    service = ctx.policy.service_for_repository(repository.full_name)
    if service is None:
        return _ignored(f"No service has github_repository = {repository.full_name!r} in the policy.")
    pinned = ctx.policy.repository_pin(service)
    if pinned is not None and pinned != repository.id:
        log.warning("github event for %s with repository id %s; the policy pins %s", service, repository.id, pinned)
        return _ignored(
            f"{repository.full_name} has id {repository.id}, not the github_repository_id {pinned} the policy pins "
            "for it (deleted and re-created?); `shipmate doctor` shows the id GitHub has now."
        )
    github_env = parsed.environment if isinstance(parsed, ProtectionRuleEvent) else parsed.deployment.environment
    env = ctx.policy.environment_for_github(github_env)
    if env is None:
        return _ignored(f"No environment stands for the GitHub environment {github_env!r} (github_environment).")
    deployment = parsed.deployment
    return GithubDeployment(
        team_id=team_id,
        repository=repository.full_name,
        service=service,
        environment=env.name,
        github_environment=github_env,
        deployment_id=deployment.id,
        sha=deployment.sha.lower(),
        payload=deployment.payload,
        ref=deployment.ref,
    )


_CALLBACK_PATH = re.compile(
    r"^/repos/([A-Za-z0-9_.-]{1,100})/([A-Za-z0-9_.-]{1,100})/actions/runs/([0-9]{1,20})/deployment_protection_rule$"
)


def callback_problem(api_url: str, repository: str, url: str) -> str | None:
    """Our token only ever goes to GitHub's API, for the repository the event is about: the callback must be
    exactly `<api>/repos/<owner>/<repo>/actions/runs/<id>/deployment_protection_rule`, nothing before, after or
    around it (no user info, query, fragment, dot segments or encoded characters). None when it is; else why not."""
    api = urlsplit(api_url)
    given = urlsplit(url)
    if (given.scheme, given.netloc.lower()) != (api.scheme, api.netloc.lower()) or given.username or given.password:
        return "must be on SHIPMATE_GITHUB_API_URL's host"
    if given.query or given.fragment or "?" in url or "#" in url or "%" in url:
        return "must have no query, fragment or encoded characters"
    prefix = api.path.rstrip("/")
    if not given.path.startswith(prefix + "/"):
        return "must be under SHIPMATE_GITHUB_API_URL"
    match = _CALLBACK_PATH.match(given.path[len(prefix) :])
    if match is None or any(part in (".", "..") for part in match.groups()[:2]):
        return "must be /repos/<owner>/<repo>/actions/runs/<id>/deployment_protection_rule"
    if f"{match.group(1)}/{match.group(2)}".lower() != repository.lower():
        return "must be for the repository the event is about"
    return None


def handler(
    ctx: ServiceContext, installation: Installation, policies: Policies
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def github_hook(request: web.Request) -> web.Response:
        return await receive(request, ctx, installation, policies)

    return github_hook
