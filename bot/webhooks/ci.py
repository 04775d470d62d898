"""`POST /hooks/deployments`: a CI/CD pipeline records a deployment.

Signed with SHIPMATE_WEBHOOK_SECRET in scheme v2 (`bot.signing`: `X-Shipmate-Timestamp` and
`X-Shipmate-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, at most 5 minutes from now).
Answers JSON: 201 recorded, 200 already recorded under that delivery id; refusals are raised and answered by the
error middleware (`bot.webhooks.errors`) with their code and status: 400 not JSON, 401 signature or time, 422 body,
403 another workspace, 404 unknown release, 409 refused (`refused_by_gates`; `commit_mismatch`: another commit than
the release's; `request_mismatch`: a request issued for another version or environment; `delivery_id_reused`),
413/408 a body too big or too slow (`bodies`), 503 Slack could not confirm the workspace, 500 `internal_error`.
Only 201 changes anything.

Every delivery the server understood is answered once: the answer is kept with its `delivery_id`, and a repeat
gets it again (with `X-Shipmate-Replayed: true`) without being processed, so a refused delivery stays refused: a
refusal about the release is turned into its answer here (`error_body`), to be kept, instead of raised.
"""

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from aiohttp import web
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import logs, signing
from bot.domain.errors import DomainError
from bot.notify.installation import Installation
from bot.services.deploys.deployments import CiReport, DeployOutcome
from bot.services.deploys.reports import record_from_ci
from bot.services.kernel.context import ServiceContext
from bot.services.pipeline import deliveries
from bot.services.pipeline.deliveries import Delivery, Receipt
from bot.webhooks import answered, bodies, fields
from bot.webhooks.errors import BadSignature, InvalidBody, WebhookDisabled, error_body
from bot.webhooks.fields import CommitSha, DeliveryId, EnvironmentName, RequestId, ServiceName, TeamId, Version

_URL = re.compile(r"^https?://[^\s<>|]{1,490}$")
CLOCK_SKEW = timedelta(minutes=5)  # a CI clock this far ahead of ours is believed; further is refused


def _url(value: str | None) -> str | None:
    if value is not None and not _URL.match(value):
        raise ValueError("must be an http(s) URL without spaces, '<', '>' or '|' (at most 500 characters)")
    return value


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


class DeploymentHook(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    team_id: TeamId
    service: ServiceName
    version: Version
    environment: EnvironmentName
    status: Literal["succeeded", "failed"]
    url: Annotated[str | None, AfterValidator(_url)] = None
    delivery_id: DeliveryId
    request_id: RequestId | None = None
    # When the change was committed (ISO 8601 with an offset): lead time for changes starts there.
    commit_at: Annotated[AwareDatetime | None, AfterValidator(_utc)] = None
    commit: CommitSha | None = None  # the commit deployed: must be the release's when it has one


def _recorded(outcome: DeployOutcome) -> Receipt:
    body = {
        "ok": True,
        "status": "duplicate" if outcome.duplicate else "recorded",
        "deployment_id": outcome.deployment.id,
        "release": outcome.release.ref,
        "environment": outcome.deployment.environment,
        "outcome": outcome.deployment.outcome,
        "bypassed_gates": outcome.deployment.bypassed_gates,
        "message": outcome.message.plain(),
    }
    return Receipt(200 if outcome.duplicate else 201, body)


async def _process(services: ServiceContext, hook: DeploymentHook, delivery: Delivery) -> Receipt:
    report = CiReport(
        team_id=hook.team_id,
        service=hook.service,
        version=hook.version,
        environment=hook.environment,
        succeeded=hook.status == "succeeded",
        delivery_id=hook.delivery_id,
        url=hook.url,
        request_id=hook.request_id,
        commit_at=hook.commit_at,
        commit=hook.commit.lower() if hook.commit else None,
    )

    async def keep(session: AsyncSession, outcome: DeployOutcome) -> None:  # with the deployment, in its transaction
        await deliveries.keep(session, delivery, _recorded(outcome))

    try:
        outcome = await record_from_ci(services, report, keep=keep)
    except DomainError as refused:  # an answer about the release: kept like a recording, so a repeat gets it again
        return Receipt(refused.http_status, error_body(refused))
    return _recorded(outcome)


async def receive(request: web.Request, services: ServiceContext, installation: Installation) -> web.Response:
    body = await bodies.read(request, limit=bodies.OURS)
    secret = services.settings.shipmate_webhook_secret
    if not secret:
        raise WebhookDisabled("SHIPMATE_WEBHOOK_SECRET is not set on the server.")
    try:
        signing.verify(secret, body, request.headers, now=services.now().timestamp())
    except signing.SignatureError as error:
        raise BadSignature("{problem}.", problem=str(error)) from None
    hook = fields.parse(DeploymentHook, body)
    logs.bind(team=hook.team_id, release=f"{hook.service}@{hook.version}")
    services = services.for_team(hook.team_id)
    if services.policy.environment(hook.environment) is None:
        raise InvalidBody.about("environment", f"known: {', '.join(services.policy.environment_names)}")
    if hook.commit_at is not None and hook.commit_at > services.now() + CLOCK_SKEW:
        raise InvalidBody.about("commit_at", "is in the future; send the commit's own time (ISO 8601)")
    await fields.require_workspace(installation, hook.team_id)
    fingerprint = Delivery.fingerprint_of(hook.model_dump_json().encode())
    delivery = Delivery(hook.team_id, "deployments", hook.delivery_id, fingerprint)
    repeat = await answered.repeat_of(services, delivery, what="delivery")
    if repeat is not None:
        return repeat
    receipt = await _process(services, hook, delivery)
    if receipt.status == 201:  # kept with the deployment, in its transaction
        return answered.send(receipt)
    return await answered.standing(services, delivery, receipt)


def handler(services: ServiceContext, installation: Installation) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for `POST /hooks/deployments`, bound to this process's services."""

    async def deployment_hook(request: web.Request) -> web.Response:
        return await receive(request, services, installation)

    return deployment_hook
