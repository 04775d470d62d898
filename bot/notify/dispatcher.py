"""Sends the outbox to Slack. At-least-once: a row is marked sent only after Slack said ok.

429s wait for `Retry-After` (slack_sdk's retry handler, then our schedule); 5xx (JSON or a proxy's HTML page),
empty or unreadable answers, dropped connections, timeouts and unknown error codes back off exponentially
(`slack_errors.classify`); a release's messages go out in order (its card before any thread reply).
"""

import asyncio
import contextlib
import logging
import random
from datetime import timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.notify.slack_errors import classify
from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import outbox
from storage.types import utcnow

log = logging.getLogger(__name__)

MAX_PERMANENT_ATTEMPTS = 6
MARK_EVERY = 10  # sent messages marked per transaction: a crash before the mark re-sends at most these
MAX_BACKOFF = 300.0


class Deferred(Exception):
    """Not an error: the message must wait (its release's card is not posted yet)."""


class Dispatcher:
    def __init__(
        self, db: Database, client: AsyncWebClient, *, lease: timedelta, poll_interval: float, batch: int = 50
    ) -> None:
        self.db = db
        self.client = client
        self.lease = lease
        self.poll_interval = poll_interval
        self.batch = batch
        self._wake = asyncio.Event()
        self._stopping = False

    def kick(self) -> None:
        """Called after a commit that enqueued messages: send now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                while await self.dispatch_once() and not self._stopping:
                    pass
            except Exception:  # the loop must survive a database blip; rows stay pending
                log.exception("outbox sweep failed; retrying at the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            self._wake.clear()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def dispatch_once(self) -> int:
        async with self.db.transaction() as session:
            claimed = list(await outbox.claim(session=session, limit=self.batch, lease=self.lease))
        blocked: set[int] = set()
        sent: list[tuple[OutboxMessage, str | None]] = []  # went out; marked a few at a time, in one transaction
        try:
            for message in claimed:
                if message.release_id is not None and message.release_id in blocked:
                    await self._finish(message, error="waiting for an earlier message of this release", defer=0.2)
                    continue
                try:
                    ts = await self._send(message)
                except Deferred as exc:
                    blocked.add(message.release_id or -1)
                    await self._finish(message, error=str(exc), defer=0.5)
                except Exception as exc:  # classified below; the row is never lost
                    if message.release_id is not None:
                        blocked.add(message.release_id)
                    await self._failed(message, exc)
                else:
                    sent.append((message, ts))
                    if len(sent) >= MARK_EVERY:
                        await self._sent(sent)
        finally:
            await self._sent(sent)
        return len(claimed)

    async def _send(self, message: OutboxMessage) -> str | None:
        payload: dict[str, Any] = dict(message.payload)
        if message.kind == "card":
            assert message.release_id is not None
            async with self.db.read() as session:
                anchor = await outbox.release_anchor(session=session, release_id=message.release_id)
            assert anchor is not None
            channel, ts = anchor
            if ts:
                await self.client.chat_update(channel=channel, ts=ts, **payload)
                return ts
            response = await self.client.chat_postMessage(channel=channel, **payload)
            return str(response["ts"])
        if message.kind == "thread":
            assert message.release_id is not None
            async with self.db.read() as session:
                anchor = await outbox.release_anchor(session=session, release_id=message.release_id)
            if anchor is None or anchor[1] is None:
                raise Deferred("the release message is not posted yet")
            response = await self.client.chat_postMessage(channel=anchor[0], thread_ts=anchor[1], **payload)
            return str(response["ts"])
        if message.kind in ("post", "dm"):
            assert message.channel is not None
            response = await self.client.chat_postMessage(channel=message.channel, **payload)
            return str(response["ts"])
        raise ValueError(f"unknown outbox kind {message.kind!r}")

    async def _sent(self, sent: list[tuple[OutboxMessage, str | None]]) -> None:
        """Mark what went out (and a new card's ts): one write transaction for several messages, so the SQLite
        writer lock is taken once per few messages rather than once each. Later messages of the same release are
        not claimed before these are marked."""
        if not sent:
            return
        async with self.db.transaction() as session:
            for message, ts in sent:
                assert message.id is not None
                await outbox.mark_sent(session=session, message_id=message.id, message_ts=ts)
                if message.kind == "card" and ts and message.release_id is not None:
                    anchor = await outbox.release_anchor(session=session, release_id=message.release_id)
                    assert anchor is not None
                    await outbox.record_message_ts(
                        session=session, release_id=message.release_id, channel=anchor[0], message_ts=ts
                    )
        sent.clear()

    async def _finish(self, message: OutboxMessage, *, error: str, defer: float) -> None:
        assert message.id is not None
        async with self.db.transaction() as session:
            await outbox.reschedule(
                session=session,
                message_id=message.id,
                at=utcnow() + timedelta(seconds=defer),
                error=error,
                count_attempt=False,
            )

    async def _failed(self, message: OutboxMessage, exc: Exception) -> None:
        assert message.id is not None
        attempts = message.attempts + 1
        failure = classify(exc)  # never raises, whatever Slack (or a proxy in front of it) answered
        delay = min(MAX_BACKOFF, 0.5 * 2**attempts) * (0.75 + random.random() / 2)
        if failure.retry_after is not None:
            delay = min(MAX_BACKOFF, failure.retry_after)
        dead = failure.permanent and attempts >= MAX_PERMANENT_ATTEMPTS
        log_fn = log.error if dead else log.warning
        log_fn("outbox %s (%s) attempt %s failed: %s", message.id, message.kind, attempts, failure.error)
        async with self.db.transaction() as session:
            await outbox.reschedule(
                session=session,
                message_id=message.id,
                at=utcnow() + timedelta(seconds=delay),
                error=failure.error,
                dead=dead,
            )
