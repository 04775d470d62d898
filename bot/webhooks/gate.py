"""`POST /api/v1/gate`: a pipeline asks whether a deployment may proceed, optionally waiting for the answer.

Signed like every Shipmate webhook (`bot.signing`). Answers 200 `{"allowed": true}` or 409
`{"allowed": false, "reasons": [{"gate", "message"}]}` (plain text); refusals in the error middleware's shape
(`bot.webhooks.errors`): 400 not JSON, 401 signature, 403 another workspace, 422 body, 404 unknown release, 429 too
many checks waiting (with `Retry-After`), 413/408 a body too big or too slow. Answers are audited on the release
when the outcome changes (`gate_checks.record`).

With a `delivery_id`, the first answer is kept (endpoint "gate", like the CI webhook's): a repeat with the same body
gets it again with `X-Shipmate-Replayed: true`, unjudged and unaudited; the same id with another body is 409.
"""

import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot import logs, signing
from bot.domain import release_notes
from bot.domain.errors import DomainError
from bot.domain.pipeline import MAX_WAIT_SECONDS
from bot.notify.installation import Installation
from bot.services.pipeline.deliveries import Delivery, Receipt
from bot.services.pipeline.gate_checks import GateQuery
from bot.services.pipeline.gate_waits import ClientGone, GateWaits
from bot.webhooks import answered, bodies
from bot.webhooks.errors import BadSignature, InvalidBody, error_body
from bot.webhooks.fields import (
    CommitSha,
    DeliveryId,
    EnvironmentName,
    RequestId,
    ServiceName,
    TeamId,
    Version,
    parse,
    require_workspace,
)

KEPT = (200, 404, 409)  # answers about the release, kept with a delivery id; the rest say "fix it" or "later"


class GateCheck(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    team_id: TeamId
    service: ServiceName
    version: Version
    environment: EnvironmentName
    wait_seconds: Annotated[int, Field(ge=0, le=MAX_WAIT_SECONDS)] = 0
    request_id: RequestId | None = None
    commit: CommitSha | None = None
    delivery_id: DeliveryId | None = None


def _hung_up(request: web.Request) -> Callable[[], bool]:
    """aiohttp does not cancel a handler whose client went away: its transport says so."""

    def gone() -> bool:
        transport = request.transport
        return transport is None or transport.is_closing()

    return gone


async def _judge(request: web.Request, waits: GateWaits, check: GateCheck) -> Receipt | web.Response:
    query = GateQuery(**check.model_dump(exclude={"delivery_id"}))
    try:
        verdict, waited = await waits.check(query, gone=_hung_up(request))
    except ClientGone:  # nobody reads this; aiohttp drops it quietly
        return web.Response(status=499)
    except DomainError as refused:
        if refused.http_status not in KEPT:  # "fix it" or "later" (429): the error middleware answers, nothing kept
            raise
        return Receipt(refused.http_status, error_body(refused))
    answer: dict[str, object] = {
        "allowed": verdict.allowed,
        "release": verdict.ref,
        "environment": verdict.environment,
        "waited_seconds": round(waited, 3),
        "commit": verdict.commit,
        "commit_checked": verdict.commit is not None,
        "change_class": verdict.change_class,
        "change_class_text": verdict.change_class_text,
    }
    if verdict.contents is not None:
        answer["contents"] = release_notes.for_pipeline(verdict.contents)
    if verdict.commit is None:
        answer["note"] = (
            f"{verdict.ref} has no recorded commit, so Shipmate cannot check which code this is: "
            f"propose releases with --commit (or tag them v<version> in the service's github_repository)."
        )
    if verdict.allowed:
        return Receipt(200, answer)
    if verdict.commit_mismatch:
        answer["error"] = "commit_mismatch"
    return Receipt(409, {**answer, "reasons": verdict.reasons()})


async def receive(request: web.Request, waits: GateWaits, installation: Installation) -> web.Response:
    body = await bodies.read(request, limit=bodies.OURS)
    try:
        signing.verify(waits.ctx.settings.shipmate_webhook_secret, body, request.headers, now=time.time())
    except signing.SignatureError as refused:
        raise BadSignature("{problem}.", problem=str(refused)) from None
    check = parse(GateCheck, body)
    logs.bind(team=check.team_id, release=f"{check.service}@{check.version}")
    await require_workspace(installation, check.team_id)
    policy = waits.ctx.for_team(check.team_id).policy
    if policy.environment(check.environment) is None:
        raise InvalidBody.about("environment", f"known: {', '.join(policy.environment_names)}")
    delivery = None
    if check.delivery_id is not None:
        fingerprint = Delivery.fingerprint_of(check.model_dump_json().encode())
        delivery = Delivery(check.team_id, "gate", check.delivery_id, fingerprint)
        repeat = await answered.repeat_of(waits.ctx, delivery, what="check")
        if repeat is not None:
            return repeat
    answer = await _judge(request, waits, check)
    if isinstance(answer, web.Response):
        return answer
    if delivery is None or answer.status not in KEPT:
        return answered.send(answer)
    return await answered.standing(waits.ctx, delivery, answer)


def handler(waits: GateWaits, installation: Installation) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def gate_check(request: web.Request) -> web.Response:
        return await receive(request, waits, installation)

    return gate_check
