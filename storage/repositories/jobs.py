"""Scheduled jobs: durable reminders and review prompts, claimed atomically so each runs exactly once.

A claim sets `status='claimed'`, a lease (`claimed_until`) and a fencing token (`claimed_by`). Finishing a job
checks the token in the same transaction as the job's effects, so a claimer whose lease ran out (and whose job
someone else took over) commits nothing.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Update, and_, bindparam, func, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import rows_of
from storage.models import Release, ScheduledJob
from storage.models.tables import SCHEDULED_JOBS
from storage.repositories.in_lists import in_values, values
from storage.types import utcnow

LIVE = ("pending", "claimed")


@dataclass(frozen=True)
class Due:
    """A job to schedule once per `dedupe_key` (see `ensure`)."""

    kind: str
    dedupe_key: str
    due_at: datetime
    target: str | None = None
    release_id: int | None = None
    payload: dict[str, Any] | None = None


async def ensure(
    *,
    session: AsyncSession,
    team_id: str,
    kind: str,
    dedupe_key: str,
    due_at: datetime,
    target: str | None = None,
    release_id: int | None = None,
    payload: dict[str, Any] | None = None,
    earlier: bool = False,
) -> None:
    """Schedule once per `dedupe_key`. An existing live job keeps its time, unless `earlier` and `due_at` is
    sooner; a finished one (done/dropped) is scheduled again."""
    job = Due(kind=kind, dedupe_key=dedupe_key, due_at=due_at, target=target, release_id=release_id, payload=payload)
    await ensure_all(session=session, team_id=team_id, jobs=[job], earlier=earlier)


async def ensure_all(*, session: AsyncSession, team_id: str, jobs: Sequence[Due], earlier: bool = False) -> None:
    """`ensure` for several jobs in one statement (one round trip)."""
    if not jobs:
        return
    created = utcnow()
    rows = [
        {
            "team_id": team_id,
            "kind": job.kind,
            "dedupe_key": job.dedupe_key,
            "due_at": job.due_at,
            "target": job.target,
            "release_id": job.release_id,
            "payload": job.payload or {},
            "status": "pending",
            "attempts": 0,
            "last_error": "",
            "created_at": created,
        }
        for job in jobs
    ]
    connection = await rows_of(session)  # core: an ORM bulk insert costs more than the upsert itself
    await connection.execute(_upsert(connection.dialect.name, earlier), rows)


@cache
def _upsert(dialect: str, earlier: bool) -> Any:
    """The `ensure` statement, built once per dialect (building `excluded` and the conflict clause costs more than
    running it)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = SCHEDULED_JOBS
    statement = insert(table)
    finished = or_(table.c.status == "done", table.c.status == "dropped")  # not in_(): executemany forbids it
    sooner = and_(table.c.status == "pending", table.c.due_at > statement.excluded.due_at)
    revive = or_(finished, sooner) if earlier else finished
    return statement.on_conflict_do_update(
        index_elements=["team_id", "dedupe_key"],
        set_={
            "due_at": statement.excluded.due_at,
            "status": "pending",
            "payload": statement.excluded.payload,
            "target": statement.excluded.target,
            "attempts": 0,
            "claimed_by": None,
            "claimed_until": None,
            "done_at": None,
            "last_error": "",
        },
        where=revive,
    )


async def claim(
    *, session: AsyncSession, worker: str, limit: int, lease: timedelta, now: datetime | None = None
) -> Sequence[ScheduledJob]:
    """Take up to `limit` due jobs (and jobs whose claimer's lease ran out). PostgreSQL skips rows another
    transaction is claiming; SQLite writers are serialised (BEGIN IMMEDIATE) and the UPDATE re-checks."""
    now = now or utcnow()
    due = or_(
        and_(col(ScheduledJob.status) == "pending", col(ScheduledJob.due_at) <= now),
        and_(col(ScheduledJob.status) == "claimed", col(ScheduledJob.claimed_until) < now),
    )
    query = (
        select(ScheduledJob.id)
        .where(due)
        .order_by(col(ScheduledJob.due_at), col(ScheduledJob.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list((await session.exec(query)).all())
    if not ids:
        return []
    await session.exec(
        update(ScheduledJob)
        .where(col(ScheduledJob.id).in_(ids), due)
        .values(status="claimed", claimed_by=worker, claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    rows = await session.exec(
        select(ScheduledJob)
        .where(col(ScheduledJob.id).in_(ids), col(ScheduledJob.claimed_by) == worker)
        .order_by(col(ScheduledJob.due_at), col(ScheduledJob.id))
    )
    return rows.all()


async def fence(*, session: AsyncSession, job_ids: Iterable[int], worker: str) -> bool:
    """Hold the claim for this transaction; False when another worker took any of these jobs over.

    The jobs' releases are locked first (shared), the order every use case takes (release row, then its jobs),
    so a runner writing for a release and a use case changing it wait for each other instead of deadlocking."""
    ids = list(job_ids)
    of_jobs = select(ScheduledJob.release_id).where(col(ScheduledJob.id).in_(ids))
    await session.exec(
        select(Release.id).where(col(Release.id).in_(of_jobs)).order_by(col(Release.id)).with_for_update(key_share=True)
    )
    query = (
        select(ScheduledJob.id)
        .where(col(ScheduledJob.id).in_(ids), col(ScheduledJob.status) == "claimed")
        .where(col(ScheduledJob.claimed_by) == worker)
        .with_for_update()
    )
    held = list((await session.exec(query)).all())
    return len(held) == len(ids)


async def finish(*, session: AsyncSession, job_ids: Iterable[int], status: str = "done", error: str = "") -> None:
    await session.exec(
        update(ScheduledJob)
        .where(col(ScheduledJob.id).in_(list(job_ids)))
        .values(status=status, done_at=utcnow(), claimed_by=None, claimed_until=None, last_error=error[:1000])
        .execution_options(synchronize_session=False)
    )


async def again(
    *, session: AsyncSession, job_id: int, due_at: datetime, payload: dict[str, Any] | None = None, error: str = ""
) -> None:
    """A recurring job went out (or must wait, `error` saying why): back to pending for its next round."""
    values: dict[str, Any] = {"status": "pending", "due_at": due_at, "claimed_by": None, "claimed_until": None}
    values.update(attempts=0, last_error=error[:1000])
    if payload is not None:
        values["payload"] = payload
    await session.exec(
        update(ScheduledJob)
        .where(col(ScheduledJob.id) == job_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def failed(*, session: AsyncSession, job_id: int, worker: str, due_at: datetime, error: str, dead: bool) -> None:
    await session.exec(
        update(ScheduledJob)
        .where(col(ScheduledJob.id) == job_id, col(ScheduledJob.claimed_by) == worker)
        .values(
            status="dropped" if dead else "pending",
            due_at=due_at,
            attempts=col(ScheduledJob.attempts) + 1,
            claimed_by=None,
            claimed_until=None,
            last_error=error[:1000],
            done_at=utcnow() if dead else None,
        )
        .execution_options(synchronize_session=False)
    )


@cache
def _drop(by_release: bool, kinds: int | None, keys: int | None) -> Update:
    """The statement for one combination of `drop`'s filters (and lengths of its lists), built once: state changes
    run it every time, so its INs have a parameter per value (`in_lists`), not one rendered at every execution."""
    table = SCHEDULED_JOBS
    statement = table.update().where(table.c.team_id == bindparam("team"), in_values(table.c.status, "live", len(LIVE)))
    if by_release:
        statement = statement.where(table.c.release_id == bindparam("release"))
    if kinds is not None:
        statement = statement.where(in_values(table.c.kind, "kind", kinds))
    if keys is not None:
        statement = statement.where(in_values(table.c.dedupe_key, "key", keys))
    return statement.values(
        status="dropped", done_at=bindparam("now"), claimed_by=None, claimed_until=None, last_error=bindparam("reason")
    )


async def drop(
    *,
    session: AsyncSession,
    team_id: str,
    release_id: int | None = None,
    kinds: Sequence[str] | None = None,
    dedupe_keys: Sequence[str] | None = None,
    reason: str = "",
) -> int:
    """Jobs that no longer apply; a claimed one is dropped too (its claimer's fence then fails)."""
    if (kinds is not None and not kinds) or (dedupe_keys is not None and not dedupe_keys):
        return 0  # an empty list matches no job
    statement = _drop(
        release_id is not None, None if kinds is None else len(kinds), None if dedupe_keys is None else len(dedupe_keys)
    )
    params = {
        "team": team_id,
        "release": release_id,
        "now": utcnow(),
        "reason": reason[:1000],
        **values("live", LIVE),
        **values("kind", kinds or ()),
        **values("key", dedupe_keys or ()),
    }
    connection = await rows_of(session)  # core: jobs are written by statements, never left pending in the session
    return int((await connection.execute(statement, params)).rowcount)


async def live(*, session: AsyncSession, team_id: str, kind: str) -> Sequence[ScheduledJob]:
    query = select(ScheduledJob).where(
        col(ScheduledJob.team_id) == team_id, col(ScheduledJob.kind) == kind, col(ScheduledJob.status).in_(LIVE)
    )
    return (await session.exec(query.order_by(col(ScheduledJob.id)))).all()


async def next_due(*, session: AsyncSession) -> datetime | None:
    pending = select(ScheduledJob.due_at).where(col(ScheduledJob.status) == "pending")
    return (await session.exec(pending.order_by(col(ScheduledJob.due_at)).limit(1))).first()


async def release_claims(*, session: AsyncSession, worker_prefix: str, job_ids: Iterable[int] | None = None) -> int:
    """A stopping process hands its claimed jobs back at once (due again now) instead of after the lease. Only
    claims this process still holds: `claimed_by` starts with its name (each claim's fencing token does)."""
    statement = update(ScheduledJob).where(
        col(ScheduledJob.status) == "claimed",
        col(ScheduledJob.claimed_by).startswith(worker_prefix, autoescape=True),
    )
    if job_ids is not None:
        statement = statement.where(col(ScheduledJob.id).in_(list(job_ids)))
    result = await session.exec(
        statement.values(status="pending", claimed_by=None, claimed_until=None).execution_options(
            synchronize_session=False
        )
    )
    return int(result.rowcount)


@dataclass(frozen=True)
class Backlog:
    due: int
    claimed: int
    oldest_due: datetime | None


async def backlog(*, session: AsyncSession, now: datetime) -> Backlog:
    """Due-but-unclaimed and claimed jobs of every workspace, in one aggregate (for metrics)."""
    due = and_(col(ScheduledJob.status) == "pending", col(ScheduledJob.due_at) <= now)
    query = (
        select(ScheduledJob.status, func.count(), func.min(ScheduledJob.due_at))
        .where(or_(due, col(ScheduledJob.status) == "claimed"))
        .group_by(col(ScheduledJob.status))
    )
    rows = {status: (int(count), oldest) for status, count, oldest in (await session.exec(query)).all()}
    waiting, oldest = rows.get("pending", (0, None))
    return Backlog(due=waiting, claimed=rows.get("claimed", (0, None))[0], oldest_due=oldest)


async def pull_forward(
    *,
    session: AsyncSession,
    team_id: str,
    kinds: Sequence[str],
    at: datetime,
    release_id: int | None = None,
    dedupe_key: str | None = None,
) -> int:
    """Pending jobs of `kinds` (of one release, or the whole team) fall due at `at` if they were due later:
    something they wait for may have changed."""
    params = {"team": team_id, "kinds": list(kinds), "at": at, "release": release_id, "key": dedupe_key}
    statement = _pull_forward(release_id is not None, dedupe_key is not None)
    connection = await rows_of(session)  # core: jobs are written by statements, never left pending in the session
    return int((await connection.execute(statement, params)).rowcount)


@cache
def _pull_forward(by_release: bool, by_key: bool) -> Update:
    """The statement for one combination of `pull_forward`'s filters, built once (every change runs it)."""
    table = SCHEDULED_JOBS
    statement = table.update().where(
        table.c.team_id == bindparam("team"),
        table.c.kind.in_(bindparam("kinds", expanding=True)),
        table.c.status == "pending",
        table.c.due_at > bindparam("at"),
    )
    if by_release:
        statement = statement.where(table.c.release_id == bindparam("release"))
    if by_key:
        statement = statement.where(table.c.dedupe_key == bindparam("key"))
    return statement.values(due_at=bindparam("at"))


async def live_kinds(*, session: AsyncSession, team_id: str) -> dict[str, int]:
    """How many live jobs of each kind a workspace has."""
    rows = await session.exec(
        select(ScheduledJob.kind, func.count())
        .where(col(ScheduledJob.team_id) == team_id, col(ScheduledJob.status).in_(LIVE))
        .group_by(col(ScheduledJob.kind))
    )
    return {str(kind): int(n) for kind, n in rows.all()}
