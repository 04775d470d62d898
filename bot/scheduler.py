"""The clock: APScheduler wakes this process at the next due job and on a short interval; the database decides
which process runs which job (claims with a lease), so any number of processes deliver each job once."""

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from bot.services.kernel import jobs as runners
from bot.services.kernel.context import ServiceContext
from storage.repositories import jobs
from storage.types import utcnow

log = logging.getLogger(__name__)

SWEEP = "shipmate-jobs-sweep"
NEXT_DUE = "shipmate-jobs-next-due"


class JobObserver(Protocol):
    """Told about claims (kind, due time) and failed runs (bot.metrics.Metrics)."""

    def claimed(self, claimed: Iterable[tuple[str, datetime]], now: datetime) -> None: ...

    def job_failed(self, kind: str, count: int = 1) -> None: ...


class Unobserved:
    def claimed(self, claimed: Iterable[tuple[str, datetime]], now: datetime) -> None:
        pass

    def job_failed(self, kind: str, count: int = 1) -> None:
        pass


class Scheduler:
    def __init__(
        self,
        services: ServiceContext,
        *,
        poll_interval: float,
        lease: timedelta = timedelta(seconds=120),
        batch: int = 200,
        observer: JobObserver | None = None,
        shutdown_timeout: float = 10.0,
    ) -> None:
        self.services = services
        self.shutdown_timeout = shutdown_timeout
        self.poll_interval = poll_interval
        self.lease = lease
        self.batch = batch
        self.observer: JobObserver = observer or Unobserved()
        # Every claim's fencing token starts with this name, so the process can hand back all it holds.
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._clock: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()
        self._stopping = False
        self._handing_back: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._clock = AsyncIOScheduler(timezone=UTC)
        self._clock.add_job(
            self.sweep,
            "interval",
            seconds=self.poll_interval,
            id=SWEEP,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._clock.start()

    def stop_claiming(self) -> None:
        """Claim nothing more, and hand back at once every job this process holds, started or not: another process
        runs them now instead of after the lease, and fencing keeps each exactly once (a batch whose claim went back
        commits nothing; one that committed first has nothing left to hand back)."""
        if self._stopping:
            return
        self._stopping = True
        self._handing_back = asyncio.get_running_loop().create_task(self._hand_back(self.name + ":"))

    async def stop(self) -> None:
        self.stop_claiming()
        if self._handing_back is not None:
            await self._handing_back
        try:  # a sweep in progress finishes its batch first: APScheduler's shutdown cancels running jobs
            async with asyncio.timeout(self.shutdown_timeout), self._lock:
                self._shutdown_clock()
        except TimeoutError:
            log.warning("a job batch outlived the shutdown timeout; cancelled, its jobs handed back")
        self._shutdown_clock()
        await self._hand_back(self.name + ":")

    def _shutdown_clock(self) -> None:
        clock, self._clock = self._clock, None  # once: APScheduler shuts down in a later loop callback
        if clock is not None and clock.running:
            clock.shutdown(wait=False)

    async def _hand_back(self, worker_prefix: str, job_ids: list[int] | None = None) -> None:
        """Claims this process holds go back to pending, so another process runs them now, not after the lease.
        Fencing keeps it exactly once: a claimer whose claim was handed back commits nothing."""
        try:
            async with self.services.db.transaction(bookkeeping=True) as session:
                released = await jobs.release_claims(session=session, worker_prefix=worker_prefix, job_ids=job_ids)
        except Exception:  # the lease runs out instead
            log.exception("could not hand back claimed jobs")
            return
        if released:
            log.info("stopping: handed back %s claimed job(s)", released)

    async def sweep(self) -> int:
        """Claim and run every due job, then set the wake-up for the next one. Returns how many ran."""
        if self._lock.locked():
            return 0
        ran = 0
        async with self._lock:
            try:
                while not self._stopping:
                    worker = f"{self.name}:{uuid.uuid4().hex[:8]}"  # a fencing token per claim
                    async with self.services.db.transaction(bookkeeping=True) as session:
                        claimed = list(
                            await jobs.claim(session=session, worker=worker, limit=self.batch, lease=self.lease)
                        )
                    if not claimed:
                        break
                    self.observer.claimed([(job.kind, job.due_at) for job in claimed], utcnow())
                    left = await runners.run(
                        self.services,
                        claimed,
                        worker,
                        stopping=lambda: self._stopping,
                        failed=self.observer.job_failed,
                    )
                    if left:
                        await self._hand_back(worker, [job.id for job in left if job.id is not None])
                    ran += len(claimed) - len(left)
                await self._plan_next()
            except Exception:  # a database blip: the interval sweep tries again
                log.exception("scheduled job sweep failed; retrying at the next poll")
        return ran

    async def _plan_next(self) -> None:
        """A one-off wake-up at the next due time, when that comes before the next interval sweep."""
        if self._clock is None or self._stopping:
            return
        async with self.services.db.read() as session:
            due = await jobs.next_due(session=session)
        if due is None or due - utcnow() > timedelta(seconds=self.poll_interval):
            return
        self._clock.add_job(
            self.sweep,
            "date",
            run_date=max(due, utcnow()),
            id=NEXT_DUE,
            replace_existing=True,
            misfire_grace_time=None,
        )
