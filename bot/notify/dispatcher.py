"""Sends the outbox. At-least-once: a row is marked sent only after the other side said ok; deployers deduplicate on
the request id. Each process runs one dispatcher per sender (Slack's, the pipeline's), each claiming only its own
kinds, so a deployer that hangs never delays a Slack message.

Claims are fenced: a claim stamps its rows with a fresh token, and every write about a row checks it. Within the
first sixth of its lease a claim is certainly still ours, with most of the lease left for a send (a timeout, a
429's wait); past it, right before each send, the dispatcher re-checks that the claim is still its own and extends
it (one conditional UPDATE). A batch that outlived its lease finds the
rows another process claimed since and skips them. What went out is marked sent in one statement per batch, or
sooner when a send comes more than a second after the last mark (the window in which a crash would send it again).

429s wait for `Retry-After`; 5xx (JSON or a proxy's HTML page), empty or unreadable answers, dropped connections,
timeouts and unknown error codes back off exponentially (`Sender.failure`); a release's messages go out in order
(its card before any thread reply).
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Collection
from datetime import timedelta
from typing import Protocol

from bot.notify.sending import Deferred, Sender, Stale
from bot.notify.slack_errors import Failure
from storage.db import Database, Writer
from storage.models import OutboxMessage
from storage.repositories import outbox_claims as claims
from storage.types import utcnow

log = logging.getLogger(__name__)

MAX_PERMANENT_ATTEMPTS = 6
MAX_BACKOFF = 300.0
SURE_OF_CLAIM = 1 / 6  # of the lease: how long after its claim a row is sent without re-checking the claim
MARK_WITHIN = 1.0  # seconds: what went out is marked sent before the next send after this long
LINGER = 0.02  # seconds between a sweep that found messages and the next: a batch's claim and mark cost the same


class DeliveryObserver(Protocol):
    """Told about every delivery and failed attempt (bot.metrics.Metrics)."""

    def delivered(self, kind: str) -> None: ...

    def delivery_failed(self, kind: str, error: str) -> None: ...


class Unobserved:
    def delivered(self, kind: str) -> None:
        pass

    def delivery_failed(self, kind: str, error: str) -> None:
        pass


class Dispatcher:
    def __init__(
        self,
        db: Database,
        sender: Sender,
        *,
        lease: timedelta,
        poll_interval: float,
        batch: int = 50,
        observer: DeliveryObserver | None = None,
    ) -> None:
        self.db = db
        self.sender = sender
        self.lease = lease
        self.poll_interval = poll_interval
        self.batch = batch
        self.observer: DeliveryObserver = observer or Unobserved()
        self._wake = asyncio.Event()
        self._stopping = False
        self._unstarted: list[OutboxMessage] = []  # claimed in this sweep, not tried yet
        self._handing_back: asyncio.Task[None] | None = None
        self._claimed_at = 0.0  # loop time of the current batch's claim
        self._marked_at = 0.0  # loop time of the last write that marked what went out
        self._backlog = False  # whether the last claim took a full batch

    def kick(self, kinds: Collection[str] | None = None) -> None:
        """Called after a commit that enqueued messages of `kinds` (None: any): send now rather than at the next
        poll, if any of them are this dispatcher's (a sweep that would find nothing is a write for nothing)."""
        if kinds is None or not self.sender.kinds.isdisjoint(kinds):
            self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            kicked = self._wake.is_set()  # a commit enqueued something since the last sweep began
            self._wake.clear()
            try:
                claimed = await self.dispatch_once(due=kicked)
            except Exception:  # the loop must survive a database blip; rows stay pending
                log.exception("%s outbox sweep failed; retrying at the next poll", self.sender.name)
            else:
                if claimed:
                    if claimed < self.batch:  # what is enqueued meanwhile joins the next batch: one claim, one mark
                        await asyncio.sleep(LINGER)
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

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

    async def dispatch_once(self, due: bool = False) -> int:
        """Claim and send a batch; how many were claimed. `due`: something was just enqueued (a kick), so the claim
        is not preceded by a look for due rows."""
        if self._stopping:
            return 0
        if not due:
            async with self.db.quick_rows() as session:  # most polls find nothing: no write lock for them (SQLite)
                if not await claims.has_due(session=session, kinds=self.sender.kinds):
                    return 0
        async with self.db.write_rows(bookkeeping=True) as rows:
            claimed = await claims.claim(
                session=rows, limit=self.batch, lease=self.lease, kinds=self.sender.kinds, fair=self._backlog
            )
            self._backlog = len(claimed) >= self.batch  # there may be more: the next claim shares between workspaces
            await self.sender.prepare(rows, claimed)
        self._claimed_at = self._marked_at = asyncio.get_running_loop().time()
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
        # A workspace whose Slack times out or fails now (an outage, a 429): the rest of its messages wait for the
        # next sweep instead of holding up the other workspaces' messages of this batch.
        struggling: set[str] = set()
        sent: list[tuple[OutboxMessage, str | None]] = []  # went out; marked with the next write, at the latest
        try:
            for message in claimed:
                if self._stopping:
                    return
                self._unstarted.remove(message)
                if message.release_id is not None and message.release_id in blocked:
                    await self._finish(message, error="waiting for an earlier message of this release", defer=0.2)
                    continue
                if message.team_id in struggling:
                    await self._finish(message, error="waiting: this workspace's last send just failed", defer=1.0)
                    continue
                if self._unsure(sent) and not await self._hold(message, sent):
                    log.info("outbox %s was claimed by another process meanwhile; it sends it", message.id)
                    continue
                try:
                    ts = await self.sender.send(message)
                except Deferred as exc:
                    blocked.add(message.release_id or -1)
                    await self._finish(message, error=str(exc), defer=0.5)
                except Stale as exc:
                    async with self.db.transaction(bookkeeping=True) as session:
                        await claims.supersede(
                            session=session, message_id=message.id or 0, token=message.claim_token, error=str(exc)
                        )
                except Exception as exc:  # classified below; the row is never lost
                    if message.release_id is not None:
                        blocked.add(message.release_id)
                    failure = await self._failed(message, exc)
                    if self.sender.shared_by_team and not failure.permanent:
                        struggling.add(message.team_id)
                else:
                    sent.append((message, ts))
        finally:
            if sent:
                async with self.db.write_rows(bookkeeping=True) as rows:
                    await self._mark_sent(rows, sent)

    def _unsure(self, sent: list[tuple[OutboxMessage, str | None]]) -> bool:
        """Whether to write before the next send: the claim may lapse during the send (past the first sixth of its
        lease), or what went out has waited over `MARK_WITHIN` to be marked."""
        now = asyncio.get_running_loop().time()
        return now - self._claimed_at >= self.lease.total_seconds() * SURE_OF_CLAIM or (
            bool(sent) and now - self._marked_at >= MARK_WITHIN
        )

    async def _hold(self, message: OutboxMessage, sent: list[tuple[OutboxMessage, str | None]]) -> bool:
        """Right before the send: whether the claim is still ours, extended by a lease (one conditional UPDATE), in
        the same write as marking what went out since the last one (one SQLite write lock per send)."""
        async with self.db.write_rows(bookkeeping=True) as rows:
            await self._mark_sent(rows, sent)
            return await claims.hold(
                session=rows, message_id=message.id or 0, token=message.claim_token, lease=self.lease
            )

    async def _mark_sent(self, session: Writer, sent: list[tuple[OutboxMessage, str | None]]) -> None:
        """Mark what went out, and where each new card is (its ts). Later messages of the same release are not
        claimed before these are marked."""
        for token in {message.claim_token for message, _ts in sent}:
            mine = {message.id or 0: ts for message, ts in sent if message.claim_token == token}
            ours = await claims.mark_all_sent(session=session, token=token, sent=mine)
            for message_id in sorted(set(mine) - ours):
                log.warning("outbox %s went out after another process took its claim: it may go out twice", message_id)
        cards = {m.release_id: ts for m, ts in sent if m.kind == "card" and ts and m.release_id is not None}
        await claims.record_first_posts(session=session, posted=cards)
        for message, _ts in sent:
            self.observer.delivered(message.kind)
        sent.clear()
        self._marked_at = asyncio.get_running_loop().time()

    async def _hand_back(self, messages: list[OutboxMessage]) -> None:
        try:
            async with self.db.transaction(bookkeeping=True) as session:
                released = 0
                for token in {message.claim_token for message in messages}:
                    ids = [m.id for m in messages if m.id is not None and m.claim_token == token]
                    released += await claims.release_claims(session=session, message_ids=ids, token=token)
        except Exception:  # the lease runs out instead
            log.exception("could not hand back claimed outbox messages")
            return
        log.info("stopping: handed back %s claimed %s outbox message(s)", released, self.sender.name)

    async def _finish(self, message: OutboxMessage, *, error: str, defer: float) -> None:
        assert message.id is not None
        async with self.db.transaction(bookkeeping=True) as session:
            await claims.reschedule(
                session=session,
                message_id=message.id,
                token=message.claim_token,
                at=utcnow() + timedelta(seconds=defer),
                error=error,
                count_attempt=False,
            )

    async def _failed(self, message: OutboxMessage, exc: Exception) -> Failure:
        assert message.id is not None
        attempts = message.attempts + 1
        failure: Failure = self.sender.failure(message, exc)  # never raises, whatever the other side answered
        delay = min(MAX_BACKOFF, 0.5 * 2**attempts) * (0.75 + random.random() / 2)
        if failure.retry_after is not None:
            delay = min(MAX_BACKOFF, failure.retry_after)
        dead = failure.fatal or (failure.permanent and attempts >= MAX_PERMANENT_ATTEMPTS)
        self.observer.delivery_failed(message.kind, failure.label)
        log_fn = log.error if dead else log.warning
        where = {"team": message.team_id, **self.sender.log_fields(exc)}
        log_fn("outbox %s (%s) attempt %s failed: %s", message.id, message.kind, attempts, failure.error, extra=where)
        async with self.db.transaction(bookkeeping=not dead) as session:  # a sender's `given_up` may change more
            ours = await claims.reschedule(
                session=session,
                message_id=message.id,
                token=message.claim_token,
                at=utcnow() + timedelta(seconds=delay),
                error=failure.error,
                dead=dead,
            )
            if ours and dead:
                await self.sender.given_up(session, message, failure)
        return failure
