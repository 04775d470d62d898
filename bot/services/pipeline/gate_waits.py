"""Gate checks that wait (`"wait_seconds": N`): held until the gates pass or N elapses.

Waiters are grouped by release × environment: a group judges once for all its waiters when something changed,
then audits them in one transaction and answers them together, and a check that joins a group whose verdict is
current reads nothing at all. Nothing is held per waiter but a future: no database connection, no task.
A group looks again when a commit in this process changed its release (the change feed); a single poller per
process notices changes made elsewhere by reading the versions of every watched release in one query, and
re-judges groups a freeze or a deploy lock holds back.

Waiting is bounded: at most `max_waiters` checks wait in a process, and `max_per_release` for one release; a check
that would wait past either is refused (`TooManyWaiting`, unaudited), while one that need not wait never is. A
waiter whose client hung up (aiohttp does not cancel a handler when its connection closes) is noticed by one
watcher for all of them within `CLIENT_CHECK_SECONDS`, leaves its group unanswered and unaudited, and frees its place.
"""

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from sqlmodel import col, select

from bot import in_flight
from bot.domain.errors import DomainError, ErrorCode
from bot.domain.message import Message
from bot.domain.pipeline import MAX_WAIT_SECONDS
from bot.services.kernel.change_feed import environment_key, release_key
from bot.services.kernel.context import ServiceContext
from bot.services.pipeline import gate_checks
from bot.services.pipeline.gate_checks import GateQuery, Verdict
from storage.models import Release

log = logging.getLogger(__name__)

GroupKey = tuple[str, str, str, str, str | None]  # team, service, version, environment, request id
ReleaseKey = tuple[str, str, str]  # team, service, version
CLIENT_CHECK_SECONDS = 0.5  # how soon a waiter whose client hung up is dropped
RETRY_AFTER_SECONDS = 10  # what a check refused over a cap is told to wait before asking again


class TooManyWaiting(DomainError):
    """A check that would wait past a cap: refused (429 with `Retry-After`), nothing audited."""

    code = ErrorCode.TOO_MANY_WAITING
    http_status = 429

    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.retry_after = RETRY_AFTER_SECONDS


class ClientGone(Exception):
    """The waiting check's connection closed: it leaves without an answer (nobody would read it) or an audit."""


def _never_gone() -> bool:
    return False


@dataclass
class _Waiter:
    query: GateQuery
    started: float
    answer: asyncio.Future[Verdict]
    gone: Callable[[], bool]  # True once the client hung up


@dataclass
class _Group:
    key: GroupKey
    verdict: Verdict
    waiters: list[_Waiter] = field(default_factory=list)
    dirty: bool = False  # something changed since the verdict: judge again


class GateWaits:
    def __init__(
        self,
        ctx: ServiceContext,
        *,
        poll_interval: float = 2.0,
        max_waiters: int = 1000,
        max_per_release: int = 20,
    ) -> None:
        self.ctx = ctx
        self.poll_interval = poll_interval
        self.max_waiters = max_waiters
        self.max_per_release = max_per_release
        self._groups: dict[GroupKey, _Group] = {}
        self._judging: dict[GroupKey, asyncio.Future[Verdict]] = {}  # one first look per key for a crowd at once
        self._waiting = 0
        self._per_release: Counter[ReleaseKey] = Counter()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        ctx.changes.subscribe(self._changed)

    @property
    def waiting(self) -> int:
        """Checks waiting now in this process."""
        return self._waiting

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gate-waits")
        self._watcher = asyncio.create_task(self._watch_clients(), name="gate-waits-clients")

    async def stop(self) -> None:
        """Shutting down: every waiter gets the verdict it has (CI sees a refusal and may ask again)."""
        await in_flight.stop(self._watcher)
        await in_flight.stop(self._task)
        for group in list(self._groups.values()):
            for waiter in group.waiters:
                if not waiter.answer.done():
                    waiter.answer.set_result(group.verdict)
        self._groups.clear()

    async def check(self, query: GateQuery, *, gone: Callable[[], bool] = _never_gone) -> tuple[Verdict, float]:
        """The verdict (audited) and how long it waited. Raises what `gate_checks.judge` raises, `TooManyWaiting`
        when it would wait past a cap, and `ClientGone` when `gone()` turned true while it waited."""
        started = time.monotonic()
        wait = min(query.wait_seconds, MAX_WAIT_SECONDS)
        key = (query.team_id, query.service, query.version, query.environment, query.request_id)
        group = self._groups.get(key)
        if group is not None and not group.dirty and wait > 0:
            verdict = group.verdict  # current: any change since it was judged would have marked it dirty
        elif wait > 0:
            verdict = await self._first_look(key, query)
        else:
            verdict = await gate_checks.judge(self.ctx.for_team(query.team_id), query)
        if verdict.allowed or wait <= 0 or not _worth_waiting(verdict) or self._task is None:
            await gate_checks.record(self.ctx.for_team(query.team_id), [(query, verdict, 0.0)])
            return verdict, 0.0
        self._admit(key, verdict.ref)  # no await from here to the join: the count cannot change in between
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(key, verdict)
        elif verdict.row_version > group.verdict.row_version:
            group.verdict = verdict
        waiter = _Waiter(query, started, asyncio.get_running_loop().create_future(), gone)
        self._join(group, waiter)
        try:
            final: Verdict | None = await asyncio.wait_for(asyncio.shield(waiter.answer), timeout=wait)
        except TimeoutError:  # the gates still refuse: answer with the latest verdict, audited on its own
            final = None
        finally:  # answered, timed out, hung up or cancelled: its place is free
            self._leave(group, waiter)
        if final is None:
            if gone():  # hung up just before its time ran out, unnoticed yet: no answer, no audit
                raise ClientGone()
            waited = time.monotonic() - started
            await gate_checks.record(self.ctx.for_team(query.team_id), [(query, group.verdict, waited)])
            return group.verdict, waited
        return final, time.monotonic() - started

    def _admit(self, key: GroupKey, ref: str) -> None:
        if self._waiting >= self.max_waiters:
            raise TooManyWaiting(
                Message(
                    "Shipmate already holds {count} waiting gate checks, its limit (SHIPMATE_MAX_GATE_WAITERS); "
                    "nothing was recorded. Ask again in {seconds} s, or with wait_seconds 0 for the answer now.",
                    count=self._waiting,
                    seconds=RETRY_AFTER_SECONDS,
                )
            )
        if self._per_release[key[:3]] >= self.max_per_release:
            raise TooManyWaiting(
                Message(
                    "{count} gate checks already wait for {ref}, the limit per release "
                    "(SHIPMATE_MAX_GATE_WAITERS_PER_RELEASE); nothing was recorded. Ask again in {seconds} s, "
                    "or with wait_seconds 0 for the answer now.",
                    count=self._per_release[key[:3]],
                    ref=ref,
                    seconds=RETRY_AFTER_SECONDS,
                )
            )

    async def _first_look(self, key: GroupKey, query: GateQuery) -> Verdict:
        """Judge once for every waiting check of `key` that arrives while a look is under way."""
        pending = self._judging.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        pending = self._judging[key] = asyncio.get_running_loop().create_future()
        try:
            verdict = await gate_checks.judge(self.ctx.for_team(query.team_id), query)
        except BaseException as exc:
            pending.set_exception(exc)
            pending.exception()  # retrieved: the waiters that share it re-raise it themselves
            raise
        else:
            pending.set_result(verdict)
            return verdict
        finally:
            del self._judging[key]

    # -- waking -------------------------------------------------------------------------------------
    def _changed(self, keys: set[Hashable]) -> None:
        """A commit in this process changed these releases or environments (called from the commit)."""
        touched = False
        for group in self._groups.values():
            team_id, release_id, environment = group.key[0], group.verdict.release_id, group.verdict.environment
            if release_key(release_id) in keys or environment_key(team_id, environment) in keys:
                group.dirty = touched = True
        if touched:
            self._wake.set()

    async def _run(self) -> None:
        next_poll = time.monotonic()
        while True:
            timeout = max(0.0, next_poll - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            self._wake.clear()
            try:
                if time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + self.poll_interval
                    await self._poll()
                await self._judge_dirty()
            except Exception:  # a database blip: the next poll tries again; waiters keep waiting
                log.exception("waiting gate checks could not be judged again")

    async def _poll(self) -> None:
        """Changes made by other processes: one query for the versions of every watched release."""
        if not self._groups:
            return
        ids = sorted({group.verdict.release_id for group in self._groups.values()})
        async with self.ctx.db.read() as session:
            rows = (await session.exec(select(Release.id, Release.row_version).where(col(Release.id).in_(ids)))).all()
        versions = dict(rows)
        now = self.ctx.now()
        for group in self._groups.values():
            newer = versions.get(group.verdict.release_id, 0) > group.verdict.row_version
            # A freeze or a deploy lock may have been lifted elsewhere, or run out: judge again.
            frozen = any(refusal.gate in ("freeze", "lock") for refusal in group.verdict.refusals)
            over = group.verdict.freeze_ends is not None and group.verdict.freeze_ends <= now
            if newer or frozen or over:
                group.dirty = True

    async def _watch_clients(self) -> None:
        while True:
            await asyncio.sleep(CLIENT_CHECK_SECONDS)
            for group in list(self._groups.values()):
                self._drop_gone(group)

    def _drop_gone(self, group: _Group) -> None:
        for waiter in list(group.waiters):
            if not waiter.answer.done() and waiter.gone():
                waiter.answer.set_exception(ClientGone())

    async def _judge_dirty(self) -> None:
        for key, group in list(self._groups.items()):
            if not group.dirty:
                continue
            group.dirty = False
            self._drop_gone(group)  # a client that hung up is neither judged for nor audited
            if not any(not waiter.answer.done() for waiter in group.waiters):
                self._groups.pop(key, None)
                continue
            first = group.waiters[0].query
            verdict = await gate_checks.judge(self.ctx.for_team(first.team_id), first)
            group.verdict = verdict
            if not verdict.allowed:
                continue
            # Everyone waiting now, including checks that joined while we judged: the verdict is the newest.
            self._groups.pop(key, None)
            self._drop_gone(group)
            live = [waiter for waiter in group.waiters if not waiter.answer.done()]
            now = time.monotonic()
            await gate_checks.record(
                self.ctx.for_team(first.team_id), [(w.query, verdict, now - w.started) for w in live]
            )
            for waiter in live:
                if not waiter.answer.done():
                    waiter.answer.set_result(verdict)

    def _join(self, group: _Group, waiter: _Waiter) -> None:
        group.waiters.append(waiter)
        self._waiting += 1
        self._per_release[group.key[:3]] += 1

    def _leave(self, group: _Group, waiter: _Waiter) -> None:
        """Exactly once per `_join`, whatever ended the wait."""
        if waiter in group.waiters:
            group.waiters.remove(waiter)
        self._waiting -= 1
        release: ReleaseKey = group.key[:3]
        self._per_release[release] -= 1
        if self._per_release[release] <= 0:
            del self._per_release[release]
        if not group.waiters and self._groups.get(group.key) is group:
            del self._groups[group.key]


def _worth_waiting(verdict: Verdict) -> bool:
    """A rejected, cancelled or rolled back release, a repeated request or another commit will not pass however long
    we wait."""
    return not verdict.rejected and not any(
        refusal.gate in ("status", "request", "commit") for refusal in verdict.refusals
    )
