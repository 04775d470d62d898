"""Outbox rows for Slack: a release's card (posted once, then updated in place), its thread lines, posts to a
channel, direct messages, and files sent to one person (a change export, uploaded into their DM)."""

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.notify.sending import Deferred
from bot.notify.slack_clients import SlackClients
from bot.notify.slack_errors import Failure, classify, web_api_method
from bot.render import FALLBACK
from storage.db import Database, Writer
from storage.models import OutboxMessage
from storage.repositories import outbox
from storage.repositories import outbox_claims as claims

log = logging.getLogger(__name__)

SLACK_KINDS = frozenset({"card", "thread", "post", "dm", "file", outbox.AGENDA})


class SlackSender:
    name = "slack"
    kinds = SLACK_KINDS
    shared_by_team = True  # a workspace's messages all go through its Slack (and its token's rate limits)

    def __init__(self, db: Database, clients: SlackClients) -> None:
        self.db = db
        self.clients = clients
        # Where the cards of the batch being sent are (release id → channel, ts), read once per batch; the batch's
        # messages (by id) are the ones it serves.
        self._anchors: dict[int, tuple[str, str | None]] = {}
        self._batch: frozenset[int] = frozenset()

    async def prepare(self, session: Writer, batch: Sequence[OutboxMessage]) -> None:
        self._batch = frozenset(message.id for message in batch if message.id is not None)
        releases = [m.release_id for m in batch if m.release_id is not None and m.kind in ("card", "thread")]
        self._anchors = {}
        if releases:  # one indexed read by primary keys
            self._anchors = await claims.release_anchors(session=session, release_ids=releases)

    async def send(self, message: OutboxMessage) -> str | None:
        """Raises `NotInstalled` (a `Stale`: the row is closed, never sent) for a workspace that uninstalled."""
        payload: dict[str, Any] = dict(message.payload)
        client = await self.clients.for_team(message.team_id)
        if message.kind == "card":
            assert message.release_id is not None
            anchor = await self._anchor(message)
            assert anchor is not None
            channel, ts = anchor
            if ts:
                await _call(client, "chat.update", channel=channel, ts=ts, **payload)
                return ts
            response = await _call(client, "chat.postMessage", channel=channel, **payload)
            self._anchors[message.release_id] = (channel, str(response["ts"]))
            return str(response["ts"])
        if message.kind == "thread":
            assert message.release_id is not None
            anchor = await self._anchor(message)
            if anchor is None or anchor[1] is None:
                raise Deferred("the release message is not posted yet")
            response = await _call(client, "chat.postMessage", channel=anchor[0], thread_ts=anchor[1], **payload)
            return str(response["ts"])
        if message.kind in ("post", "dm"):
            assert message.channel is not None
            fallback = payload.pop(FALLBACK, None)
            try:
                response = await _call(client, "chat.postMessage", channel=message.channel, **payload)
            except SlackApiError as exc:
                if fallback is None or exc.response.get("error") != "invalid_blocks":
                    raise
                log.warning("outbox %s: Slack refused its blocks; sending the words alone", message.id)
                response = await _call(client, "chat.postMessage", channel=message.channel, **fallback)
            return str(response["ts"])
        if message.kind == "file":
            assert message.channel is not None
            return await self._send_file(client, message.channel, payload)
        if message.kind == outbox.AGENDA:
            return await self._agenda(client, message, payload)
        raise ValueError(f"unknown outbox kind {message.kind!r}")

    async def _anchor(self, message: OutboxMessage) -> tuple[str, str | None] | None:
        """Where the message's release's card is: as read for its batch, else (a send on its own) read now."""
        assert message.release_id is not None
        if message.id in self._batch and message.release_id in self._anchors:
            return self._anchors[message.release_id]
        async with self.db.quick_rows() as session:  # one indexed read by primary key
            return await claims.release_anchor(session=session, release_id=message.release_id)

    async def _send_file(self, client: AsyncWebClient, user_id: str, payload: dict[str, Any]) -> str | None:
        """A file (its text in `content`) uploaded into the person's DM, with its comment; the file's id."""
        opened = await client.conversations_open(users=user_id)
        response = await client.files_upload_v2(
            channel=str(opened["channel"]["id"]),
            content=payload["content"],
            filename=payload["filename"],
            title=payload["title"],
            initial_comment=payload["initial_comment"],
        )
        file_id = (response.get("file") or {}).get("id")
        return str(file_id) if file_id else None

    async def _agenda(self, client: AsyncWebClient, message: OutboxMessage, payload: dict[str, Any]) -> str:
        """The CAB agenda: a meeting's first is posted, the later ones update it in place."""
        assert message.channel is not None
        meeting, fresh = str(payload.pop(outbox.AGENDA_MEETING, "")), payload.pop(outbox.AGENDA_FRESH, False)
        if fresh:
            response = await _call(client, "chat.postMessage", channel=message.channel, **payload)
            return str(response["ts"])
        async with self.db.read() as session:
            ts = await outbox.agenda_ts(
                session=session, team_id=message.team_id, channel=message.channel, meeting=meeting
            )
        if ts is None:
            raise Deferred("the agenda is not posted yet")
        await _call(client, "chat.update", channel=message.channel, ts=ts, **payload)
        return ts

    def failure(self, message: OutboxMessage, exc: Exception) -> Failure:
        return classify(exc)

    def log_fields(self, exc: Exception) -> dict[str, str | None]:
        return {"slack_method": method_of(exc)}

    async def given_up(self, session: AsyncSession, message: OutboxMessage, failure: Failure) -> None:
        pass  # logged as an error and counted in shipmate_outbox_dead


async def _call(client: AsyncWebClient, method: str, **fields: Any) -> AsyncSlackResponse:
    """`chat.postMessage` or `chat.update` through slack_sdk's `api_call`: the JSON request its named methods send
    (`None` fields left out, as they leave them out), retried and answered the same, without their walk of every
    block for Block Kit objects to convert (ours are plain dicts, rendered from templates): a tenth or more of a call's
    CPU, and every change owes one or more."""
    return await client.api_call(method, json={name: value for name, value in fields.items() if value is not None})


def method_of(exc: Exception) -> str | None:
    """The Web API method a failure came from (`chat.postMessage`, else `other`), from the URL slack_sdk called."""
    if isinstance(exc, SlackApiError):  # slack_sdk's response has `api_url`; aiohttp's (an unreadable body) `url`
        url = getattr(exc.response, "api_url", None) or getattr(exc.response, "url", "")
        return web_api_method(str(url))
    return None
