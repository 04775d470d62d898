"""Sends the outbox to Slack and to the pipeline (deployers, GitHub). At-least-once: a row is marked sent only
after the other side said ok; deployers deduplicate on the request id.

429s wait for `Retry-After` (slack_sdk's retry handler, then our schedule); 5xx (JSON or a proxy's HTML page),
empty or unreadable answers, dropped connections, timeouts and unknown error codes back off exponentially
(`slack_errors.classify`); a release's messages go out in order (its card before any thread reply).
"""

import asyncio
import contextlib
import logging
import random
from datetime import timedelta
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.pipeline import JobKind, OutboxKind
from bot.notify.pipeline_client import KINDS as PIPELINE_KINDS
from bot.notify.pipeline_client import PipelineClient, PipelineError
from bot.notify.slack_errors import Failure, classify
from bot.render import FALLBACK
from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import deploy_requests, jobs, outbox
from storage.types import utcnow

log = logging.getLogger(__name__)

MAX_PERMANENT_ATTEMPTS = 6
MARK_EVERY = 10  # sent messages marked per transaction: a crash before the mark re-sends at most these
MAX_BACKOFF = 300.0


class Deferred(Exception):
    """Not an error: the message must wait (its release's card is not posted yet)."""


class DeliveryObserver(Protocol):
    """Told about every delivery and failed attempt (bot.metrics.Metrics)."""

    def delivered(self, kind: str) -> None: ...

    def delivery_failed(self, kind: str, error: str) -> None: ...


class Unobserved:
    def delivered(self, kind: str) -> None:
        pass

    def delivery_failed(self, kind: str, error: str) -> None:
        pass


class Stale(Exception):
    """Not an error: the deployment request was closed (timed out) before it could be sent; it never will be."""


class Dispatcher:
    def __init__(
        self,
        db: Database,
        client: AsyncWebClient,
        *,
        lease: timedelta,
        poll_interval: float,
        batch: int = 50,
        observer: DeliveryObserver | None = None,
        pipeline: PipelineClient | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.pipeline = pipeline
        self.lease = lease
        self.poll_interval = poll_interval
        self.batch = batch
        self.observer: DeliveryObserver = observer or Unobserved()
        self._wake = asyncio.Event()
        self._stopping = False
        self._unstarted: list[OutboxMessage] = []  # claimed in this sweep, not tried yet
        self._handing_back: asyncio.Task[None] | None = None

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
        """Claim nothing more, and hand back at once the claimed messages not tried yet (another process sends them
        now, not when this one's lease runs out); the one being sent finishes. `stopped()` waits for the hand-back."""
        self._stopping = True
        self._wake.set()
        if self._unstarted and self._handing_back is None:
            unstarted, self._unstarted = self._unstarted, []
            self._handing_back = asyncio.get_running_loop().create_task(self._hand_back(unstarted))

    async def stopped(self) -> None:
        if self._handing_back is not None:
            await self._handing_back

    async def dispatch_once(self) -> int:
        if self._stopping:
            return 0
        async with self.db.transaction() as session:
            claimed = list(await outbox.claim(session=session, limit=self.batch, lease=self.lease))
        self._unstarted = list(claimed)
        try:
            await self._send_all(claimed)
        finally:
            unstarted, self._unstarted = self._unstarted, []
        if self._stopping and unstarted:  # claimed while `stop()` ran
            await self._hand_back(unstarted)
        return len(claimed)

    async def _send_all(self, claimed: list[OutboxMessage]) -> None:
        blocked: set[int] = set()
        sent: list[tuple[OutboxMessage, str | None]] = []  # went out; marked a few at a time, in one transaction
        try:
            for message in claimed:
                if self._stopping:
                    return
                self._unstarted.remove(message)
                if message.release_id is not None and message.release_id in blocked:
                    await self._finish(message, error="waiting for an earlier message of this release", defer=0.2)
                    continue
                try:
                    ts = await self._send(message)
                except Deferred as exc:
                    blocked.add(message.release_id or -1)
                    await self._finish(message, error=str(exc), defer=0.5)
                except Stale as exc:
                    async with self.db.transaction() as session:
                        await outbox.supersede(session=session, message_id=message.id or 0, error=str(exc))
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

    async def _send(self, message: OutboxMessage) -> str | None:
        payload: dict[str, Any] = dict(message.payload)
        if message.kind in PIPELINE_KINDS:
            if self.pipeline is None:
                raise PipelineError("this process has no pipeline client")
            if message.kind in (OutboxKind.DEPLOY_WEBHOOK, OutboxKind.WORKFLOW_DISPATCH):
                async with self.db.read() as session:
                    row = await deploy_requests.by_request_id(session=session, request_id=payload["request_id"])
                if row is None or row.status != deploy_requests.OPEN:
                    raise Stale(f"request {payload['request_id']} is {row.status if row else 'gone'}; not sent")
            await self.pipeline.send(message.kind, payload)
            return None
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
            fallback = payload.pop(FALLBACK, None)
            try:
                response = await self.client.chat_postMessage(channel=message.channel, **payload)
            except SlackApiError as exc:
                if fallback is None or exc.response.get("error") != "invalid_blocks":
                    raise
                log.warning("outbox %s: Slack refused its blocks; sending the words alone", message.id)
                response = await self.client.chat_postMessage(channel=message.channel, **fallback)
            return str(response["ts"])
        raise ValueError(f"unknown outbox kind {message.kind!r}")

    async def _hand_back(self, messages: list[OutboxMessage]) -> None:
        mark = messages[0].claimed_until
        if mark is None:
            return
        try:
            async with self.db.transaction() as session:
                ids = [message.id for message in messages if message.id is not None]
                released = await outbox.release_claims(session=session, message_ids=ids, claimed_until=mark)
        except Exception:  # the lease runs out instead
            log.exception("could not hand back claimed outbox messages")
            return
        log.info("stopping: handed back %s claimed outbox message(s)", released)

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
        for message, _ts in sent:
            self.observer.delivered(message.kind)
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
        # never raises, whatever Slack (or a proxy in front of it) or a deployer answered
        failure = _pipeline_failure(message, exc) if isinstance(exc, PipelineError) else classify(exc)
        delay = min(MAX_BACKOFF, 0.5 * 2**attempts) * (0.75 + random.random() / 2)
        if failure.retry_after is not None:
            delay = min(MAX_BACKOFF, failure.retry_after)
        dead = failure.permanent and attempts >= MAX_PERMANENT_ATTEMPTS
        self.observer.delivery_failed(message.kind, failure.label)
        log_fn = log.error if dead else log.warning
        where = {"team": message.team_id, "slack_method": _method(exc)}
        log_fn("outbox %s (%s) attempt %s failed: %s", message.id, message.kind, attempts, failure.error, extra=where)
        async with self.db.transaction() as session:
            await outbox.reschedule(
                session=session,
                message_id=message.id,
                at=utcnow() + timedelta(seconds=delay),
                error=failure.error,
                dead=dead,
            )
            if dead and message.kind in (OutboxKind.DEPLOY_WEBHOOK, OutboxKind.WORKFLOW_DISPATCH):
                await self._undeliverable(session, message, failure.error)

    async def _undeliverable(self, session: Any, message: OutboxMessage, error: str) -> None:
        """The deployer never took the request: say so on it and let its timeout job tell people now."""
        request_id = str(message.payload.get("request_id", ""))
        row = await deploy_requests.undeliverable(session=session, request_id=request_id, error=error)
        if row is not None:
            await jobs.pull_forward(
                session=session,
                team_id=row.team_id,
                kinds=[JobKind.DEPLOY_TIMEOUT],
                at=utcnow(),
                dedupe_key=f"deploy_timeout:{request_id}",
            )


def _method(exc: Exception) -> str | None:
    """The Web API method a failure came from (`chat.postMessage`), from the URL slack_sdk called."""
    if isinstance(exc, SlackApiError):  # slack_sdk's response has `api_url`; aiohttp's (an unreadable body) `url`
        url = getattr(exc.response, "api_url", None) or getattr(exc.response, "url", "")
        return str(url).rstrip("/").rsplit("/", 1)[-1] or None
    return None


def _pipeline_failure(message: OutboxMessage, exc: PipelineError) -> Failure:
    return Failure(f"{message.kind}: {exc}", retry_after=exc.retry_after, permanent=exc.permanent, label=message.kind)
