"""Outbox rows for Slack: a release's card (posted once, then updated in place), its thread lines, posts to a
channel and direct messages."""

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.notify.sending import Deferred
from bot.notify.slack_clients import SlackClients
from bot.notify.slack_errors import Failure, classify, web_api_method
from bot.render import FALLBACK
from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import outbox

log = logging.getLogger(__name__)

SLACK_KINDS = frozenset({"card", "thread", "post", "dm"})


class SlackSender:
    name = "slack"
    kinds = SLACK_KINDS
    shared_by_team = True  # a workspace's messages all go through its Slack (and its token's rate limits)

    def __init__(self, db: Database, clients: SlackClients) -> None:
        self.db = db
        self.clients = clients

    async def send(self, message: OutboxMessage) -> str | None:
        """Raises `NotInstalled` (a `Stale`: the row is closed, never sent) for a workspace that uninstalled."""
        payload: dict[str, Any] = dict(message.payload)
        client = await self.clients.for_team(message.team_id)
        if message.kind == "card":
            assert message.release_id is not None
            async with self.db.read() as session:
                anchor = await outbox.release_anchor(session=session, release_id=message.release_id)
            assert anchor is not None
            channel, ts = anchor
            if ts:
                await client.chat_update(channel=channel, ts=ts, **payload)
                return ts
            response = await client.chat_postMessage(channel=channel, **payload)
            return str(response["ts"])
        if message.kind == "thread":
            assert message.release_id is not None
            async with self.db.read() as session:
                anchor = await outbox.release_anchor(session=session, release_id=message.release_id)
            if anchor is None or anchor[1] is None:
                raise Deferred("the release message is not posted yet")
            response = await client.chat_postMessage(channel=anchor[0], thread_ts=anchor[1], **payload)
            return str(response["ts"])
        if message.kind in ("post", "dm"):
            assert message.channel is not None
            fallback = payload.pop(FALLBACK, None)
            try:
                response = await client.chat_postMessage(channel=message.channel, **payload)
            except SlackApiError as exc:
                if fallback is None or exc.response.get("error") != "invalid_blocks":
                    raise
                log.warning("outbox %s: Slack refused its blocks; sending the words alone", message.id)
                response = await client.chat_postMessage(channel=message.channel, **fallback)
            return str(response["ts"])
        raise ValueError(f"unknown outbox kind {message.kind!r}")

    def failure(self, message: OutboxMessage, exc: Exception) -> Failure:
        return classify(exc)

    def log_fields(self, exc: Exception) -> dict[str, str | None]:
        return {"slack_method": method_of(exc)}

    async def given_up(self, session: AsyncSession, message: OutboxMessage, failure: Failure) -> None:
        pass  # logged as an error and counted in shipmate_outbox_dead


def method_of(exc: Exception) -> str | None:
    """The Web API method a failure came from (`chat.postMessage`, else `other`), from the URL slack_sdk called."""
    if isinstance(exc, SlackApiError):  # slack_sdk's response has `api_url`; aiohttp's (an unreadable body) `url`
        url = getattr(exc.response, "api_url", None) or getattr(exc.response, "url", "")
        return web_api_method(str(url))
    return None
