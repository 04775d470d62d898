"""Requests from another workspace than the installation's change nothing and are told so.

Runs after Bolt's own checks (signature, timestamp, auth.test), before any listener. Events API redeliveries are
deduplicated where they change state (a review reply records its `event_id` in the same transaction), so a
delivery whose handling failed is still handled when Slack retries it.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.domain.errors import ErrorCode
from bot.metrics import OUTCOME

log = logging.getLogger(__name__)

FOREIGN_TEAM = "This Shipmate serves another Slack workspace, so it did nothing. Ask your admin to install it here."


def installation_team(context: AsyncBoltContext) -> str | None:
    """The workspace our token belongs to (auth.test, cached by Bolt); None before authorization or in Socket tests."""
    result = context.authorize_result
    return result.team_id if result is not None else None


class WorkspaceGuard(AsyncMiddleware):
    """A class-based middleware: Bolt calls it with the request as it is (a function middleware costs one
    build of every listener argument per request)."""

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        return await workspace_guard(req.body, req.context, next)


async def workspace_guard(
    body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
) -> BoltResponse | None:
    installed = installation_team(context)
    if installed is None or context.team_id in (None, installed):
        await next()
        return None
    if context.enterprise_id and context.enterprise_id == getattr(context.authorize_result, "enterprise_id", None):
        await next()  # an org-wide installation serves every workspace of its organisation
        return None
    log.warning("refused a %s request from team %s (installed in %s)", _kind(body), context.team_id, installed)
    context[OUTCOME] = "forbidden"
    if body.get("command"):  # the person sees why, nothing else happens
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": FOREIGN_TEAM})
    return BoltResponse(status=403, body={"error": ErrorCode.TEAM_MISMATCH})


def _kind(body: dict[str, Any]) -> str:
    return str(body.get("command") or body.get("type") or "unknown")


def register(app: AsyncApp) -> None:
    app.use(WorkspaceGuard())
