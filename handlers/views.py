"""Modal submissions. The use case runs before the ack, so its refusal can be shown in the modal itself."""

from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.errors import DomainError, InvalidInput
from bot.domain.policy import DEFAULT_WINDOW
from bot.domain.proposal import ProposeRequest
from bot.domain.timeparse import after, parse_duration
from bot.ids import BlockId, CallbackId
from bot.render import render_text
from bot.services import health
from bot.services.approvals import approvals
from bot.services.change import conflicts
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.releases import releases
from bot.slack_text import mrkdwn
from handlers import errors, review_surface
from handlers.forms import PROPOSE_FIELDS, REJECT_FIELDS, FormMiddleware, as_text, modal_errors, view_metadata


def _window_start(start: Any) -> datetime | None:
    if not start:
        return None
    try:
        return datetime.fromtimestamp(int(start), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise InvalidInput("The window start is not a time I can read; pick it again.", field="window_start") from None


def _propose_request(form: dict[str, Any]) -> ProposeRequest:
    window_start = _window_start(form.get(BlockId.WINDOW_START))
    window_end = None
    length = as_text(form.get(BlockId.WINDOW_HOURS)).strip()
    if length:
        if window_start is None:
            raise InvalidInput("A window length needs a start: pick when the window starts.", field="window_start")
        try:
            window_end = after(window_start, parse_duration(length))
        except InvalidInput as error:
            raise InvalidInput(error.text, field="window") from None
    elif window_start is not None:
        window_end = after(window_start, DEFAULT_WINDOW)
    return ProposeRequest(
        service=as_text(form.get(BlockId.SERVICE)),
        version=as_text(form.get(BlockId.VERSION)),
        summary=as_text(form.get(BlockId.SUMMARY)),
        changes=as_text(form.get(BlockId.CHANGES)),
        risk=as_text(form.get(BlockId.RISK)) or None,  # medium, or a standard change's `max_risk`
        rollback_plan=as_text(form.get(BlockId.ROLLBACK_PLAN)),
        window_start=window_start,
        window_end=window_end,
        commit_sha=as_text(form.get(BlockId.COMMIT)).strip() or None,
        **_change_class(form),
    )


def _change_class(form: dict[str, Any]) -> dict[str, Any]:
    """The modal's change class: `normal`, `emergency` or `standard:<template name>`, and the incident's link."""
    chosen = as_text(form.get(BlockId.CHANGE_CLASS)) or "normal"
    incident = as_text(form.get(BlockId.INCIDENT)).strip() or None
    if incident and chosen != "emergency":
        raise InvalidInput(
            "An incident link goes with an emergency change: choose Emergency, or clear it.", field="incident"
        )
    if chosen.startswith("standard:"):
        return {"standard_name": chosen.removeprefix("standard:")}
    return {"change_class": "emergency" if chosen == "emergency" else "normal", "incident_url": incident}


async def propose_submitted(
    ack: AsyncAck,
    body: dict[str, Any],
    form: dict[str, Any],
    client: AsyncWebClient,
    services: ServiceContext,
) -> None:
    metadata = view_metadata(body)
    channel = metadata.get("channel_id")
    actor = Actor(team_id=body["team"]["id"], user_id=body["user"]["id"], channel_id=str(channel) if channel else None)
    try:
        release = await releases.propose(services, actor, _propose_request(form))
    except DomainError as error:
        await ack(response_action="errors", errors=modal_errors(error, PROPOSE_FIELDS, default=BlockId.SUMMARY))
        return
    await ack()
    if actor.channel_id:
        clashes = await conflicts.conflict_lines(services, actor, release) if release.window_start else []
        text = render_text("answer_proposed", release=release, conflicts=clashes)
        await client.chat_postEphemeral(channel=actor.channel_id, user=actor.user_id, text=text)


async def reject_submitted(ack: AsyncAck, body: dict[str, Any], form: dict[str, Any], services: ServiceContext) -> None:
    release_id = view_metadata(body).get("release_id")
    actor = Actor(team_id=body["team"]["id"], user_id=body["user"]["id"])
    try:
        if not isinstance(release_id, int):
            raise InvalidInput("This form no longer matches a release; press Reject on the release message again.")
        await approvals.reject(services, actor, release_id, as_text(form.get(BlockId.REASON)))
    except DomainError as error:
        await ack(response_action="errors", errors=modal_errors(error, REJECT_FIELDS, default=BlockId.REASON))
        return
    await ack()


async def not_related_submitted(
    ack: AsyncAck, body: dict[str, Any], form: dict[str, Any], client: AsyncWebClient, services: ServiceContext
) -> None:
    alert_id = view_metadata(body).get("alert_id")
    actor = Actor(team_id=body["team"]["id"], user_id=body["user"]["id"])
    try:
        if not isinstance(alert_id, int):
            raise InvalidInput("This form no longer matches an alert; press Not related on the alert again.")
        answer = await health.not_related(services, actor, alert_id, as_text(form.get(BlockId.REASON)))
    except DomainError as error:
        await ack(response_action="errors", errors=modal_errors(error, REJECT_FIELDS, default=BlockId.REASON))
        return
    await ack()
    await client.chat_postMessage(channel=actor.user_id, text=mrkdwn(answer.message))


def register(app: AsyncApp) -> None:
    app.middleware(FormMiddleware())
    app.view(str(CallbackId.PROPOSE))(errors.answered(propose_submitted))
    app.view(str(CallbackId.REJECT))(errors.answered(reject_submitted))
    app.view(str(CallbackId.NOT_RELATED))(errors.answered(not_related_submitted))
    app.view(str(CallbackId.ACTION_ITEM))(errors.answered(review_surface.action_item_submitted))
