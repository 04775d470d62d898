"""The clock: APScheduler wakes this process at the next due job and on a short interval; the database decides
which process runs which job (claims with a lease), so any number of processes deliver each job once."""

import asyncio
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from bot.services.context import ServiceContext
from bot.services.reminders import runners
from storage.repositories import jobs
from storage.types import utcnow

log = logging.getLogger(__name__)

SWEEP = "shipmate-jobs-sweep"
NEXT_DUE = "shipmate-jobs-next-due"


class Scheduler:
    def __init__(
        self,
        services: ServiceContext,
        *,
        poll_interval: float,
        lease: timedelta = timedelta(seconds=120),
        batch: int = 200,
    ) -> None:
        self.services = services
        self.poll_interval = poll_interval
        self.lease = lease
        self.batch = batch
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._clock: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()
        self._stopping = False

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

    async def stop(self) -> None:
        self._stopping = True
        # Let a sweep in progress finish its transaction first: APScheduler's shutdown cancels running jobs.
        async with self._lock:
            if self._clock is not None and self._clock.running:
                self._clock.shutdown(wait=False)

    async def sweep(self) -> int:
        """Claim and run every due job, then set the wake-up for the next one. Returns how many ran."""
        if self._lock.locked():
            return 0
        ran = 0
        async with self._lock:
            try:
                while not self._stopping:
                    worker = f"{self.name}:{uuid.uuid4().hex[:8]}"  # a fencing token per claim
                    async with self.services.db.transaction() as session:
                        claimed = list(
                            await jobs.claim(session=session, worker=worker, limit=self.batch, lease=self.lease)
                        )
                    if not claimed:
                        break
                    await runners.run(self.services, claimed, worker)
                    ran += len(claimed)
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
