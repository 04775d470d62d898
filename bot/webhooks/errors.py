"""Errors as JSON, in one place, for every webhook and API route (`/hooks/…`, `/api/…`).

A refusal (`DomainError`) becomes `{"ok": false, "error": <code>, "message": <plain text>, …its data}` with its
class's `http_status` (and `Retry-After` when it knows when to ask again); anything else is logged once with an
incident id and answered `500 internal_error` with that id. Handlers raise; `middleware` answers. A handler that
keeps its answers (a delivery id answered once) turns a refusal into that same body with `error_body` itself.

The refusals below belong to the HTTP edge: they are about the request (its signature, its JSON, the workspace it
names), before any rule of the domain is asked.
"""

import logging
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler

from bot import incidents, logs
from bot.domain.errors import Conflict, DomainError, ErrorCode, InvalidInput, NotAllowed

log = logging.getLogger(__name__)

JSON_ROUTES = ("/hooks/", "/api/")  # the routes this middleware answers for; Bolt answers `/slack/events` itself


class WebhookDisabled(DomainError):
    """The server has no secret for this webhook, so no request to it can be trusted."""

    code = ErrorCode.WEBHOOK_DISABLED
    http_status = 401


class BadSignature(DomainError):
    """The signature (or its timestamp) does not prove the body came from who holds the secret."""

    code = ErrorCode.BAD_SIGNATURE
    http_status = 401


class BadToken(DomainError):
    """The bearer token is missing or is not the one the server was given."""

    code = ErrorCode.BAD_TOKEN
    http_status = 401


class InvalidJson(InvalidInput):
    """The body is not one JSON object in UTF-8."""

    code = ErrorCode.INVALID_JSON
    http_status = 400


class InvalidBody(InvalidInput):
    """JSON, but not what the endpoint takes: each field at fault in `details`."""

    code = ErrorCode.INVALID_BODY
    http_status = 422

    def __init__(self, details: Sequence[dict[str, str]]) -> None:
        self.details = list(details)
        problems = "; ".join(f"{detail['field']}: {detail['message']}" for detail in details)
        super().__init__("The body is not what this endpoint takes ({problems}).", problems=problems)

    @classmethod
    def about(cls, field: str, message: str) -> "InvalidBody":
        return cls([{"field": field, "message": message}])

    def data(self) -> dict[str, object]:
        return {"details": self.details}


class InvalidDelivery(InvalidInput):
    """The delivery header that names the event is missing or malformed."""

    code = ErrorCode.INVALID_DELIVERY
    http_status = 422


class DeliveryIdReused(Conflict):
    """A delivery id already answered for another body: each delivery needs its own."""

    code = ErrorCode.DELIVERY_ID_REUSED


class TeamMismatch(NotAllowed):
    """The body names a workspace this Shipmate does not serve."""

    code = ErrorCode.TEAM_MISMATCH


class SlackUnavailable(DomainError):
    """Slack could not confirm this Shipmate's workspace now: retry later."""

    code = ErrorCode.SLACK_UNAVAILABLE
    http_status = 503


class NotConfigured(DomainError):
    """A setting this endpoint needs is not set on the server."""

    code = ErrorCode.NOT_CONFIGURED
    http_status = 503


def error_body(error: DomainError) -> dict[str, object]:
    """The JSON answer to a refusal (sent with `error.http_status`)."""
    return {"ok": False, "error": error.code, "message": error.plain, **error.data()}


def error_response(error: DomainError) -> web.Response:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return web.json_response(error_body(error), status=error.http_status, headers=headers)


def internal_error(incident: str) -> web.Response:
    message = f"Something went wrong on our side (error id {incident}); nothing was changed, retry later."
    body = {"ok": False, "error": ErrorCode.INTERNAL_ERROR, "message": message, "error_id": incident}
    return web.json_response(body, status=500)


def _answers_for(request: web.Request) -> bool:
    resource = request.match_info.route.resource
    return resource is not None and resource.canonical.startswith(JSON_ROUTES)


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _answers_for(request):
        return await handler(request)
    with logs.bound():  # what the handler binds (`logs.bind(team=…)`) names this request's records, and no other's
        try:
            return await handler(request)
        except DomainError as refused:  # the caller's to fix: answered, not logged
            return error_response(refused)
        except web.HTTPException:  # an answer already (a body over the limit, too slow)
            raise
        except Exception as error:
            return internal_error(incidents.record(log, error, "%s %s failed", request.method, request.path))
