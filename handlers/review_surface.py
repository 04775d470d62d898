"""Review surfaces: thread replies (Events API `message`), the review buttons and the action item modal."""

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.errors import DomainError, InvalidInput
from bot.ids import BlockId
from bot.render import render
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.reviews import action_items, reviews
from bot.services.reviews.reviews import ThreadMessage
from bot.slack_text import mrkdwn
from handlers.forms import ACTION_ITEM_FIELDS, as_text, modal_errors, view_metadata

IGNORED_SUBTYPES = frozenset({"bot_message", "channel_join", "channel_leave", "thread_broadcast_deleted"})


def thread_message(body: dict[str, Any]) -> ThreadMessage | None:
    """A human's message (new, edited or deleted) inside a thread; None for anything else."""
    event: dict[str, Any] = body.get("event", {})
    subtype = event.get("subtype")
    if subtype in IGNORED_SUBTYPES:
        return None
    deleted = subtype == "message_deleted"
    message: dict[str, Any] = event.get("message", {}) if subtype == "message_changed" else event
    if deleted:
        message = {**event.get("previous_message", {}), "ts": event.get("deleted_ts")}
    if message.get("bot_id") or message.get("subtype") == "bot_message":
        return None
    thread_ts, ts = message.get("thread_ts"), message.get("ts")
    if not thread_ts or not ts or thread_ts == ts or not event.get("channel"):
        return None  # not a reply: a channel message or the thread's parent
    if not deleted and not message.get("user"):
        return None
    return ThreadMessage(
        team_id=body.get("team_id") or event.get("team", ""),
        event_id=body.get("event_id") or f"{event.get('channel')}:{event.get('event_ts')}",
        channel_id=event["channel"],
        thread_ts=thread_ts,
        message_ts=ts,
        user_id=message.get("user"),
        text=message.get("text", ""),
        change="deleted" if deleted else ("edited" if subtype == "message_changed" else "posted"),
    )


async def message_event(body: dict[str, Any], services: ServiceContext) -> None:
    parsed = thread_message(body)
    if parsed is not None:
        await reviews.record(services, parsed)


def _actor(body: dict[str, Any]) -> Actor:
    channel = (body.get("channel") or {}).get("id")
    return Actor(team_id=body["team"]["id"], user_id=body["user"]["id"], channel_id=channel)


async def close_review_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, services: ServiceContext
) -> None:
    outcome = await reviews.close(services, _actor(body), int(action["value"]))
    await ack()
    await respond(text=mrkdwn(outcome.message), response_type="ephemeral", replace_original=False)


async def add_action_item_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, services: ServiceContext
) -> None:
    release = await reviews.reviewed_release(services, _actor(body), int(action["value"]))
    await ack()
    metadata = json.dumps({"release_id": release.id})
    view = render("action_item_modal", ref=release.ref, private_metadata=metadata, default_due=None)
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def action_done_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, services: ServiceContext
) -> None:
    message = await action_items.done(services, _actor(body), int(action["value"]))
    await ack()
    await respond(text=mrkdwn(message), response_type="ephemeral", replace_original=False)


async def action_item_submitted(
    ack: AsyncAck, body: dict[str, Any], form: dict[str, Any], services: ServiceContext
) -> None:
    release_id = view_metadata(body).get("release_id")
    actor = Actor(team_id=body["team"]["id"], user_id=body["user"]["id"])
    try:
        if not isinstance(release_id, int):
            raise InvalidInput("This form no longer matches a release; press Add action item on the review again.")
        await action_items.add(
            services,
            actor,
            release_id,
            as_text(form.get(BlockId.OWNER)),
            as_text(form.get(BlockId.DUE)),
            as_text(form.get(BlockId.TEXT)),
        )
    except DomainError as error:
        await ack(response_action="errors", errors=modal_errors(error, ACTION_ITEM_FIELDS, default=BlockId.TEXT))
        return
    await ack()
