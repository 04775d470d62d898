"""Requests that must change nothing: another workspace's, and Events API redeliveries of an `event_id` seen before.

Runs after Bolt's own checks (signature, timestamp, auth.test), before any listener.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.services.context import ServiceContext
from storage.repositories import idempotency

log = logging.getLogger(__name__)

FOREIGN_TEAM = "This Shipmate serves another Slack workspace, so it did nothing. Ask your admin to install it here."


def installation_team(context: AsyncBoltContext) -> str | None:
    """The workspace our token belongs to (auth.test, cached by Bolt); None before authorization or in Socket tests."""
    result = context.authorize_result
    return result.team_id if result is not None else None


async def workspace_guard(
    body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
) -> BoltResponse | None:
    installed = installation_team(context)
    if installed is None or context.team_id in (None, installed):
        await next()
        return None
    if context.enterprise_id and context.enterprise_id == getattr(context.authorize_result, "enterprise_id", None):
        await next()  # an org-wide installation serves every workspace of its organisation
        return None
    log.warning("refused a %s request from team %s (installed in %s)", _kind(body), context.team_id, installed)
    if body.get("command"):  # the person sees why, nothing else happens
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": FOREIGN_TEAM})
    return BoltResponse(status=403, body={"error": "team_mismatch"})


async def event_once(
    body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
) -> BoltResponse | None:
    """Slack redelivers an event (same `event_id`) when our ack was slow; the first delivery is the one handled."""
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    services: ServiceContext | None = context.get("services")
    if not event_id or services is None:
        await next()
        return None
    async with services.db.transaction() as session:
        first = await idempotency.first_time(
            session=session, team_id=context.team_id or "", key=f"event:{str(event_id)[:180]}"
        )
    if first:
        await next()
        return None
    log.info("ignored a redelivery of event %s", event_id)
    return BoltResponse(status=200, body="")


def _kind(body: dict[str, Any]) -> str:
    return str(body.get("command") or body.get("type") or "unknown")


def register(app: AsyncApp) -> None:
    app.use(workspace_guard)
    app.use(event_once)
