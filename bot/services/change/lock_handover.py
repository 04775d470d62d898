"""A lock's life after it is taken, on the durable job engine: it runs out at `until` (its expiry job, once across
processes and restarts), its holder hears ten minutes before ("extend"), and when it ends the next person in the
queue is offered it ("take it / pass"), held for them five minutes before it passes on.

Order of locks, everywhere: the service × environment slot (`locks_repo.serialise`), then the lock row, then its
jobs; a runner takes one job per transaction in that order, so a runner and a person never wait for each other in a
circle."""

from collections.abc import Sequence
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.change import Audit
from bot.domain.locks import OFFER_FOR, WARN_BEFORE, Ending, LockJob, LockState, label
from bot.domain.pipeline import JobKind
from bot.render import render
from bot.services.kernel.change_feed import environment_key
from bot.services.kernel.context import ServiceContext
from bot.services.kernel.jobs import runs
from storage.models import DeployLock, ScheduledJob
from storage.repositories import audit, jobs, outbox
from storage.repositories import locks as locks_repo

SHIPMATE = "shipmate"  # the actor of what the clock does (an expiry, an offer passed on)


def details(lock: DeployLock, **more: object) -> dict[str, object]:
    """What the audit trail keeps of a lock (locks are not a release's: the service and environment say whose)."""
    return {
        "lock_id": lock.id,
        "service": lock.service,
        "environment": lock.environment,
        "holder": lock.holder,
        "reason": lock.reason,
        "until": lock.until.isoformat(),
        **more,
    }


async def schedule(session: AsyncSession, ctx: ServiceContext, lock: DeployLock) -> None:
    """The lock's expiry (and, for a held lock, the warning before it): moved earlier when due sooner; a job found
    due before a later `until` (an extension) waits again until then."""
    due = [jobs.Due(LockJob.EXPIRY, f"lock:{lock.pk}:expiry", lock.until, lock.environment, payload=_payload(lock))]
    warn_at = lock.until - WARN_BEFORE
    if lock.state == LockState.HELD and warn_at > lock.since:  # a lock shorter than the warning gets none
        due.append(
            jobs.Due(LockJob.WARNING, f"lock:{lock.pk}:warning", warn_at, lock.environment, payload=_payload(lock))
        )
    await jobs.ensure_all(session=session, team_id=lock.team_id, jobs=due, earlier=True)


def _payload(lock: DeployLock) -> dict[str, object]:
    return {"lock_id": lock.pk, "service": lock.service, "environment": lock.environment}


def _dm(session: AsyncSession, lock: DeployLock, template: str, **context: object) -> None:
    outbox.direct(
        session=session, team_id=lock.team_id, user_id=lock.holder, payload=render(template, lock=lock, **context)
    )


def changed(session: AsyncSession, ctx: ServiceContext, team_id: str, environment: str) -> None:
    """Whatever waits on the gates of `environment` looks again: gate checks in this process once this commits
    (others at their next poll), GitHub's protection rules at the next sweep."""
    ctx.changes.after_commit(session, environment_key(team_id, environment))


async def end(
    session: AsyncSession, ctx: ServiceContext, lock: DeployLock, ending: Ending, *, by: str | None
) -> DeployLock | None:
    """End `lock` (the caller holds its slot) and offer it to the next in its queue: the offered lock, if any."""
    now = ctx.now()
    offered = lock.state == LockState.OFFERED
    lock.state, lock.ended_at, lock.ended_by, lock.ending = LockState.ENDED, now, by, ending
    session.add(lock)
    await session.flush()  # ended before the next lock of the slot is written (one live lock per slot)
    audit.append(session, lock.team_id, by or SHIPMATE, Audit.LOCK_ENDED, details=details(lock, ending=str(ending)))
    changed(session, ctx, lock.team_id, lock.environment)
    await jobs.pull_forward(session=session, team_id=lock.team_id, kinds=[JobKind.PROTECTION_RULE], at=now)
    if by is None or (not offered and by != lock.holder):  # the clock ended it, or someone else lifted it
        _dm(session, lock, "lock_ended_dm", ending=str(ending), by=by)
    return await offer_next(session, ctx, lock.team_id, lock.service, lock.environment)


async def offer_next(
    session: AsyncSession, ctx: ServiceContext, team_id: str, service: str, environment: str
) -> DeployLock | None:
    """The slot is free: the first in its queue is offered the lock, held for them `OFFER_FOR`."""
    entry = await locks_repo.next_in_line(session=session, team_id=team_id, service=service, environment=environment)
    if entry is None:
        return None
    now = ctx.now()
    entry.left_at, entry.outcome = now, "offered"
    session.add(entry)
    lock = locks_repo.add(
        session,
        DeployLock(
            team_id=team_id,
            service=service,
            environment=environment,
            holder=entry.user_id,
            reason=entry.reason,
            state=LockState.OFFERED,
            since=now,
            until=now + OFFER_FOR,
            length_seconds=entry.length_seconds,
        ),
    )
    await session.flush()
    await schedule(session, ctx, lock)
    audit.append(session, team_id, SHIPMATE, Audit.LOCK_OFFERED, details=details(lock))
    _dm(
        session, lock, "lock_offer_dm", what=label(service, environment), length=timedelta(seconds=entry.length_seconds)
    )
    return lock


async def take_offer(session: AsyncSession, ctx: ServiceContext, lock: DeployLock) -> None:
    """The person it was offered to takes it, for the time they asked when they queued."""
    now = ctx.now()
    lock.state, lock.since, lock.until = LockState.HELD, now, now + timedelta(seconds=lock.length_seconds)
    session.add(lock)
    await schedule(session, ctx, lock)
    audit.append(session, lock.team_id, lock.holder, Audit.LOCK_TAKEN, details=details(lock, queued=True))
    changed(session, ctx, lock.team_id, lock.environment)


@runs(LockJob.EXPIRY)
async def run_expiry(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """End each lock whose time is up (an offer not taken passes on), exactly once: the job is fenced and the lock
    row re-read in the transaction that ends it; a lock extended since waits again until its new end."""
    for job in due:
        async with ctx.db.transaction() as session:
            lock = await _locked(session, team_id, job)
            if not await jobs.fence(session=session, job_ids=[job.pk], worker=worker):
                continue
            if lock is not None and lock.state != LockState.ENDED:
                if lock.until > ctx.now():
                    await jobs.again(session=session, job_id=job.pk, due_at=lock.until)
                    continue
                offered = lock.state == LockState.OFFERED
                await end(session, ctx, lock, Ending.PASSED if offered else Ending.EXPIRED, by=None)
            await jobs.finish(session=session, job_ids=[job.pk])


@runs(LockJob.WARNING)
async def run_warning(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """Tell the holder their lock runs out soon, with an "extend" button; an extended lock's warning waits."""
    for job in due:
        async with ctx.db.transaction() as session:
            lock = await _locked(session, team_id, job)
            if not await jobs.fence(session=session, job_ids=[job.pk], worker=worker):
                continue
            if lock is not None and lock.state == LockState.HELD:
                warn_at = lock.until - WARN_BEFORE
                if warn_at > ctx.now():
                    await jobs.again(session=session, job_id=job.pk, due_at=warn_at)
                    continue
                _dm(session, lock, "lock_warning_dm", what=label(lock.service, lock.environment))
            await jobs.finish(session=session, job_ids=[job.pk])


async def _locked(session: AsyncSession, team_id: str, job: ScheduledJob) -> DeployLock | None:
    p = job.payload
    await locks_repo.serialise(
        session=session, team_id=team_id, service=str(p["service"]), environment=str(p["environment"])
    )
    return await locks_repo.by_id(session=session, team_id=team_id, lock_id=int(str(p["lock_id"])))
