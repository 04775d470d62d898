"""Gate checks that wait (`"wait_seconds": N`): held until the gates pass or N elapses.

Waiters are grouped by release × environment: a group judges once for all its waiters when something changed,
then audits them in one transaction and answers them together, and a check that joins a group whose verdict is
current reads nothing at all. Nothing is held per waiter but a future: no database connection, no task.
A group looks again when a commit in this process changed its release (the change feed); a single poller per
process notices changes made elsewhere by reading the versions of every watched release in one query, and
re-judges groups a freeze holds back.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass, field

from sqlmodel import col, select

from bot import in_flight
from bot.domain.pipeline import MAX_WAIT_SECONDS
from bot.services import gate_checks
from bot.services.change_feed import environment_key, release_key
from bot.services.context import ServiceContext
from bot.services.gate_checks import GateQuery, Verdict
from storage.models import Release

log = logging.getLogger(__name__)

GroupKey = tuple[str, str, str, str, str | None]  # team, service, version, environment, request id


@dataclass
class _Waiter:
    query: GateQuery
    started: float
    answer: asyncio.Future[Verdict]


@dataclass
class _Group:
    key: GroupKey
    verdict: Verdict
    waiters: list[_Waiter] = field(default_factory=list)
    dirty: bool = False  # something changed since the verdict: judge again


class GateWaits:
    def __init__(self, ctx: ServiceContext, *, poll_interval: float = 2.0) -> None:
        self.ctx = ctx
        self.poll_interval = poll_interval
        self._groups: dict[GroupKey, _Group] = {}
        self._judging: dict[GroupKey, asyncio.Future[Verdict]] = {}  # one first look per key for a crowd at once
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        ctx.changes.subscribe(self._changed)

    @property
    def waiting(self) -> int:
        return sum(len(group.waiters) for group in self._groups.values())

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gate-waits")

    async def stop(self) -> None:
        """Shutting down: every waiter gets the verdict it has (CI sees a refusal and may ask again)."""
        await in_flight.stop(self._task)
        for group in list(self._groups.values()):
            for waiter in group.waiters:
                if not waiter.answer.done():
                    waiter.answer.set_result(group.verdict)
        self._groups.clear()

    async def check(self, query: GateQuery) -> tuple[Verdict, float]:
        """The verdict (audited) and how long it waited. Raises what `gate_checks.judge` raises."""
        started = time.monotonic()
        wait = min(query.wait_seconds, MAX_WAIT_SECONDS)
        key = (query.team_id, query.service, query.version, query.environment, query.request_id)
        group = self._groups.get(key)
        if group is not None and not group.dirty and wait > 0:
            verdict = group.verdict  # current: any change since it was judged would have marked it dirty
        elif wait > 0:
            verdict = await self._first_look(key, query)
        else:
            verdict = await gate_checks.judge(self.ctx, query)
        if verdict.allowed or wait <= 0 or not _worth_waiting(verdict) or self._task is None:
            await gate_checks.record(self.ctx, [(query, verdict, 0.0)])
            return verdict, 0.0
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(key, verdict)
        elif verdict.row_version > group.verdict.row_version:
            group.verdict = verdict
        waiter = _Waiter(query, started, asyncio.get_running_loop().create_future())
        group.waiters.append(waiter)
        try:
            final = await asyncio.wait_for(asyncio.shield(waiter.answer), timeout=wait)
        except TimeoutError:  # the gates still refuse: answer with the latest verdict, audited on its own
            self._leave(group, waiter)
            final = group.verdict
            waited = time.monotonic() - started
            await gate_checks.record(self.ctx, [(query, final, waited)])
            return final, waited
        return final, time.monotonic() - started

    async def _first_look(self, key: GroupKey, query: GateQuery) -> Verdict:
        """Judge once for every waiting check of `key` that arrives while a look is under way."""
        pending = self._judging.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        pending = self._judging[key] = asyncio.get_running_loop().create_future()
        try:
            verdict = await gate_checks.judge(self.ctx, query)
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
            frozen = any(refusal.gate == "freeze" for refusal in group.verdict.refusals)  # lifted elsewhere or over
            over = group.verdict.freeze_ends is not None and group.verdict.freeze_ends <= now
            if newer or frozen or over:
                group.dirty = True

    async def _judge_dirty(self) -> None:
        for key, group in list(self._groups.items()):
            if not group.dirty:
                continue
            group.dirty = False
            if not any(not waiter.answer.done() for waiter in group.waiters):
                self._groups.pop(key, None)
                continue
            verdict = await gate_checks.judge(self.ctx, group.waiters[0].query)
            group.verdict = verdict
            if not verdict.allowed:
                continue
            # Everyone waiting now, including checks that joined while we judged: the verdict is the newest.
            self._groups.pop(key, None)
            live = [waiter for waiter in group.waiters if not waiter.answer.done()]
            now = time.monotonic()
            await gate_checks.record(self.ctx, [(w.query, verdict, now - w.started) for w in live])
            for waiter in live:
                if not waiter.answer.done():
                    waiter.answer.set_result(verdict)

    def _leave(self, group: _Group, waiter: _Waiter) -> None:
        if waiter in group.waiters:
            group.waiters.remove(waiter)
        if not group.waiters and self._groups.get(group.key) is group:
            del self._groups[group.key]


def _worth_waiting(verdict: Verdict) -> bool:
    """A rejected, cancelled or rolled back release, a repeated request or another commit will not pass however long
    we wait."""
    return not verdict.rejected and not any(
        refusal.gate in ("status", "request", "commit") for refusal in verdict.refusals
    )
