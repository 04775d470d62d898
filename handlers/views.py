"""Modal submissions. The use case runs before the ack, so its refusal can be shown in the modal itself."""

import json
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.errors import DomainError, InvalidInput
from bot.domain.timeparse import parse_duration
from bot.ids import BlockId, CallbackId
from bot.render import render, render_text
from bot.services import approvals, releases
from bot.services.context import Actor, ServiceContext
from handlers.forms import form_middleware

# Which modal field an error message is about, so it shows under that field.
_FIELD_HINTS = (
    ("service name", BlockId.SERVICE),
    ("version", BlockId.VERSION),
    ("summary", BlockId.SUMMARY),
    ("changes", BlockId.CHANGES),
    ("rollback plan", BlockId.ROLLBACK_PLAN),
    ("window", BlockId.WINDOW_HOURS),
    ("duration", BlockId.WINDOW_HOURS),
    ("already exists", BlockId.VERSION),
)


def _field_for(message: str, default: BlockId) -> str:
    lowered = message.lower()
    return next((str(block) for hint, block in _FIELD_HINTS if hint in lowered), str(default))


def _plain(message: str) -> str:
    # Modal errors are plain text: keep the words, drop the mrkdwn escapes.
    return message.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")[:150]


def _metadata(body: dict[str, Any]) -> dict[str, Any]:
    """What we stored in the modal; anything else (an old or foreign view) reads as nothing."""
    try:
        loaded = json.loads(body["view"].get("private_metadata") or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _window_start(start: Any) -> datetime | None:
    if not start:
        return None
    try:
        return datetime.fromtimestamp(int(start), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise InvalidInput("The window start is not a time I can read; pick it again.") from None


def _propose_request(form: dict[str, Any]) -> releases.ProposeRequest:
    window_start = _window_start(form.get(BlockId.WINDOW_START))
    window_end = None
    length = _text(form.get(BlockId.WINDOW_HOURS)).strip()
    if length:
        if window_start is None:
            raise InvalidInput("A window length needs a start: pick when the window starts.")
        window_end = window_start + parse_duration(length)
    elif window_start is not None:
        window_end = window_start + parse_duration("1h")
    return releases.ProposeRequest(
        service=_text(form.get(BlockId.SERVICE)),
        version=_text(form.get(BlockId.VERSION)),
        summary=_text(form.get(BlockId.SUMMARY)),
        changes=_text(form.get(BlockId.CHANGES)),
        risk=_text(form.get(BlockId.RISK)) or "medium",
        rollback_plan=_text(form.get(BlockId.ROLLBACK_PLAN)),
        window_start=window_start,
        window_end=window_end,
    )


async def propose_submitted(
    ack: AsyncAck,
    body: dict[str, Any],
    form: dict[str, Any],
    client: AsyncWebClient,
    services: ServiceContext,
) -> None:
    metadata = _metadata(body)
    channel = metadata.get("channel_id")
    actor = Actor(team_id=body["team"]["id"], user_id=body["user"]["id"], channel_id=str(channel) if channel else None)
    try:
        release = await releases.propose(services, actor, _propose_request(form))
    except DomainError as error:
        await ack(
            response_action="errors",
            errors={_field_for(error.message, BlockId.SUMMARY): _plain(error.message)},
        )
        return
    await ack()
    if actor.channel_id:
        await client.chat_postEphemeral(
            channel=actor.channel_id, user=actor.user_id, text=render_text("answer_proposed", release=release)
        )


async def reject_submitted(ack: AsyncAck, body: dict[str, Any], form: dict[str, Any], services: ServiceContext) -> None:
    release_id = _metadata(body).get("release_id")
    actor = Actor(team_id=body["team"]["id"], user_id=body["user"]["id"])
    try:
        if not isinstance(release_id, int):
            raise InvalidInput("This form no longer matches a release; press Reject on the release message again.")
        await approvals.reject_by_id(services, actor, release_id, _text(form.get(BlockId.REASON)))
    except DomainError as error:
        await ack(response_action="errors", errors={str(BlockId.REASON): _plain(error.message)})
        return
    await ack()


def register(app: AsyncApp) -> None:
    app.middleware(form_middleware)
    app.view(str(CallbackId.PROPOSE))(propose_submitted)
    app.view(str(CallbackId.REJECT))(reject_submitted)


__all__ = ["register", "render"]
