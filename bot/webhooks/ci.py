"""`POST /hooks/deployments`: a CI/CD pipeline records a deployment.

Authenticated by `X-Shipmate-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with SHIPMATE_WEBHOOK_SECRET.
Answers JSON: 201 recorded, 200 duplicate delivery, 401 signature, 422 body, 404 unknown release, 409 refused by
the gates. Anything but 201 changes nothing.
"""

import hashlib
import hmac
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from bot.domain.errors import DomainError, GateBlocked, InvalidInput, NotFound
from bot.domain.validation import check_service, check_version
from bot.services.context import ServiceContext
from bot.services.deployments import CiReport, record_from_ci

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Shipmate-Signature"
_URL = re.compile(r"^https?://[^\s<>|]{1,490}$")


def _service(value: str) -> str:
    try:
        return check_service(value)
    except InvalidInput as error:
        raise ValueError(error.plain) from None


def _version(value: str) -> str:
    try:
        return check_version(value)
    except InvalidInput as error:
        raise ValueError(error.plain) from None


def _url(value: str | None) -> str | None:
    if value is not None and not _URL.match(value):
        raise ValueError("must be an http(s) URL without spaces, '<', '>' or '|' (at most 500 characters)")
    return value


class DeploymentHook(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    team_id: str = Field(pattern=r"^[TE][A-Z0-9]{2,20}$")
    service: Annotated[str, AfterValidator(_service)]
    version: Annotated[str, AfterValidator(_version)]
    environment: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,30}$")
    status: Literal["succeeded", "failed"]
    url: Annotated[str | None, AfterValidator(_url)] = None
    delivery_id: str = Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")
    request_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def _error(status: int, error: str, **extra: Any) -> web.Response:
    return web.json_response({"ok": False, "error": error, **extra}, status=status)


async def receive(request: web.Request, services: ServiceContext) -> web.Response:
    body = await request.read()
    if not services.settings.shipmate_webhook_secret:
        return _error(401, "webhook_disabled", message="SHIPMATE_WEBHOOK_SECRET is not set on the server.")
    if not signature_ok(services.settings.shipmate_webhook_secret, body, request.headers.get(SIGNATURE_HEADER)):
        return _error(401, "bad_signature", message=f"{SIGNATURE_HEADER} must be sha256=<hex HMAC-SHA256 of the body>.")
    try:
        hook = DeploymentHook.model_validate_json(body)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"].removeprefix("Value error, ")}
            for e in exc.errors(include_url=False)
        ]
        return _error(422, "invalid_body", details=problems)
    if services.policy.environment(hook.environment) is None:
        known = ", ".join(services.policy.environment_names)
        return _error(422, "invalid_body", details=[{"field": "environment", "message": f"known: {known}"}])
    report = CiReport(
        team_id=hook.team_id,
        service=hook.service,
        version=hook.version,
        environment=hook.environment,
        succeeded=hook.status == "succeeded",
        delivery_id=hook.delivery_id,
        url=hook.url,
        request_id=hook.request_id,
    )
    try:
        outcome = await record_from_ci(services, report)
    except GateBlocked as error:
        reasons = [refusal.message.plain() for refusal in error.refusals]
        message = f"{error.ref} cannot be deployed to {error.environment} yet:"
        return _error(409, "refused_by_gates", message=message, reasons=reasons)
    except NotFound as error:
        return _error(404, "not_found", message=error.plain)
    except DomainError as error:
        return _error(409, "refused", message=error.plain)
    except Exception:  # a bug or an outage: nothing was committed; the id ties the answer to the log
        incident = uuid.uuid4().hex[:8]
        log.exception("deployment hook %s failed (delivery %s)", incident, hook.delivery_id)
        return _error(500, "internal_error", message=f"Nothing was recorded; retry later (error id {incident}).")
    answer = {
        "ok": True,
        "status": "duplicate" if outcome.duplicate else "recorded",
        "deployment_id": outcome.deployment.id,
        "release": outcome.release.ref,
        "environment": outcome.deployment.environment,
        "outcome": outcome.deployment.outcome,
        "bypassed_gates": outcome.deployment.bypassed_gates,
        "message": outcome.message.plain(),
    }
    return web.json_response(answer, status=200 if outcome.duplicate else 201)


def handler(services: ServiceContext) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for `POST /hooks/deployments`, bound to this process's services."""

    async def deployment_hook(request: web.Request) -> web.Response:
        return await receive(request, services)

    return deployment_hook
