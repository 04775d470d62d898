"""Running due jobs. Each feature registers the runner of its job kinds (`@runs(kind)`, when its package is
imported); the scheduler claims due jobs and `run` hands them over, coalesced by workspace and kind. A runner writes
its messages and finishes its jobs in ONE transaction, after checking that its worker still holds them, so every
job happens exactly once however many processes run."""

import logging
from collections.abc import Awaitable, Callable, Sequence
from itertools import groupby
from typing import TYPE_CHECKING

from bot.domain import reminders
from storage.models import ScheduledJob
from storage.repositories import jobs
from storage.types import utcnow

if TYPE_CHECKING:
    from bot.services.kernel.context import ServiceContext

log = logging.getLogger(__name__)

Runner = Callable[["ServiceContext", str, Sequence[ScheduledJob], str], Awaitable[None]]
RUNNERS: dict[str, Runner] = {}


def runs(*kinds: str) -> Callable[[Runner], Runner]:
    """Register the runner of jobs of `kinds`."""

    def register(runner: Runner) -> Runner:
        for kind in kinds:
            if kind in RUNNERS:
                raise ValueError(f"job kind {kind!r} has two runners")
            RUNNERS[kind] = runner
        return runner

    return register


async def _hold_until_working_hours(
    ctx: "ServiceContext", due: Sequence[ScheduledJob], worker: str
) -> list[ScheduledJob]:
    """Nudges claimed outside working hours go back to wait for the next working moment."""
    hours = ctx.policy.working_hours
    now = ctx.now()
    held = [job for job in due if reminders.when_deliverable(job.kind, now, hours) > now]
    if held:
        async with ctx.db.transaction() as session:
            if await jobs.fence(session=session, job_ids=[job.pk for job in held], worker=worker):
                for job in held:
                    await jobs.again(
                        session=session, job_id=job.pk, due_at=reminders.when_deliverable(job.kind, now, hours)
                    )
    return [job for job in due if job not in held]


async def run(
    ctx: "ServiceContext",
    claimed: Sequence[ScheduledJob],
    worker: str,
    *,
    stopping: Callable[[], bool] = lambda: False,
    failed: Callable[[str, int], None] = lambda kind, count: None,
) -> list[ScheduledJob]:
    """Run claimed jobs, coalesced by workspace and kind. A failing batch is retried later with backoff (`failed`
    hears its kind). Once `stopping()` says so, no further batch starts: the jobs not started are returned."""
    ordered = sorted(claimed, key=lambda job: (job.team_id, job.kind, job.pk))
    batches = [list(batch) for _key, batch in groupby(ordered, key=lambda job: (job.team_id, job.kind))]
    for index, due in enumerate(batches):
        if stopping():
            return [job for batch in batches[index:] for job in batch]
        team_id, kind = due[0].team_id, due[0].kind
        try:
            served = ctx.for_team(team_id)
            due = await _hold_until_working_hours(served, due, worker)
            runner = RUNNERS.get(kind)
            if runner is None:
                raise ValueError(f"unknown job kind {kind!r}")
            if due:
                await runner(served, team_id, due, worker)
        except Exception as exc:  # the jobs stay; they are retried with backoff and given up after a few
            log.exception("%s job(s) of kind %s failed", len(due), kind, extra={"team": team_id})
            await _failed(ctx, due, worker, exc)
            failed(kind, len(due))  # counted once the jobs are back to pending, so a scrape never sees them held
    return []


async def _failed(ctx: "ServiceContext", due: Sequence[ScheduledJob], worker: str, exc: Exception) -> None:
    try:
        async with ctx.db.transaction() as session:
            for job in due:
                dead = job.attempts + 1 >= reminders.MAX_FAILURES
                await jobs.failed(
                    session=session,
                    job_id=job.pk,
                    worker=worker,
                    due_at=utcnow() + reminders.backoff(job.attempts),
                    error=f"{type(exc).__name__}: {exc}",
                    dead=dead,
                )
    except Exception:  # the lease runs out and another sweep retries
        log.exception("could not record the failure of %s job(s)", len(due))
