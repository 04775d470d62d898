"""`POST /api/v1/gate`: a pipeline asks whether a deployment may proceed, optionally waiting for the answer.

Signed like every Shipmate webhook (`bot.webhooks.signing`). Answers 200 `{"allowed": true}` or 409
`{"allowed": false, "reasons": [{"gate", "message"}]}` (plain text); 400 not JSON, 401 signature, 403 another
workspace, 422 body, 404 unknown release, 413/408 a body too big or too slow. Each answer is audited on the release.
"""

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot.domain.errors import DomainError, NotFound
from bot.domain.pipeline import MAX_WAIT_SECONDS
from bot.notify.installation import Installation
from bot.services.gate_checks import GateQuery
from bot.services.gate_waits import GateWaits
from bot.webhooks import bodies, signing
from bot.webhooks.fields import (
    CommitSha,
    EnvironmentName,
    RequestId,
    ServiceName,
    TeamId,
    Version,
    error,
    parse,
    workspace_refusal,
)

log = logging.getLogger(__name__)


class GateCheck(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    team_id: TeamId
    service: ServiceName
    version: Version
    environment: EnvironmentName
    wait_seconds: Annotated[int, Field(ge=0, le=MAX_WAIT_SECONDS)] = 0
    request_id: RequestId | None = None
    commit: CommitSha | None = None


async def receive(request: web.Request, waits: GateWaits, installation: Installation) -> web.Response:
    body = await bodies.read(request, limit=bodies.OURS)
    try:
        signing.verify(waits.ctx.settings.shipmate_webhook_secret, body, request.headers, now=time.time())
    except signing.SignatureError as refused:
        return error(401, "bad_signature", message=str(refused))
    check = parse(GateCheck, body)
    if isinstance(check, web.Response):
        return check
    refused_team = await workspace_refusal(installation, check.team_id)
    if refused_team is not None:
        return refused_team
    if waits.ctx.policy.environment(check.environment) is None:
        known = ", ".join(waits.ctx.policy.environment_names)
        return error(422, "invalid_body", details=[{"field": "environment", "message": f"known: {known}"}])
    query = GateQuery(**check.model_dump())
    try:
        verdict, waited = await waits.check(query)
    except NotFound as refused:
        return error(404, "not_found", message=refused.plain)
    except DomainError as refused:
        return error(409, "refused", message=refused.plain)
    except Exception:  # a bug or an outage: the id ties the answer to the log
        incident = uuid.uuid4().hex[:8]
        log.exception("gate check %s failed", incident)
        return error(500, "internal_error", message=f"Could not judge the gates; retry later (error id {incident}).")
    answer: dict[str, object] = {
        "allowed": verdict.allowed,
        "release": verdict.ref,
        "environment": verdict.environment,
        "waited_seconds": round(waited, 3),
    }
    if verdict.allowed:
        return web.json_response(answer, status=200)
    return web.json_response({**answer, "reasons": verdict.reasons()}, status=409)


def handler(waits: GateWaits, installation: Installation) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def gate_check(request: web.Request) -> web.Response:
        return await receive(request, waits, installation)

    return gate_check
