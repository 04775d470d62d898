"""Deploy locks and their queues. Scoped by `team_id`, never commit; the service owns the transaction."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, text
from sqlalchemy import select as core_select
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Reader, rows_of
from storage.models import DeployLock, LockQueueEntry
from storage.models.tables import table_of

ENDED = "ended"


def add(session: AsyncSession, lock: DeployLock, /) -> DeployLock:
    session.add(lock)
    return lock


def enqueue(session: AsyncSession, entry: LockQueueEntry, /) -> LockQueueEntry:
    session.add(entry)
    return entry


async def serialise(*, session: AsyncSession, team_id: str, service: str, environment: str) -> None:
    """Take turns on one service × environment's lock and queue until commit (PostgreSQL: an advisory lock; SQLite
    writers are serial already), so two people locking at once are one holder and one in the queue."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = f"lock:{team_id}:{service}:{environment}"
    await session.exec(text("SELECT pg_advisory_xact_lock(hashtext(:key))").bindparams(key=key))  # type: ignore[call-overload]


async def live(*, session: AsyncSession, team_id: str, service: str, environment: str) -> DeployLock | None:
    """The lock of exactly this service (or `*`) in `environment` that has not ended, locked for the transaction."""
    query = (
        select(DeployLock)
        .where(
            DeployLock.team_id == team_id,
            DeployLock.service == service,
            DeployLock.environment == environment,
            DeployLock.state != ENDED,
        )
        .with_for_update()
    )
    found = (await session.exec(query)).first()
    if found is not None:
        await session.refresh(found)
    return found


async def by_id(*, session: AsyncSession, team_id: str, lock_id: int) -> DeployLock | None:
    query = select(DeployLock).where(DeployLock.team_id == team_id, DeployLock.id == lock_id).with_for_update()
    found = (await session.exec(query)).first()
    if found is not None:
        await session.refresh(found)
    return found


async def in_force(
    *, session: AsyncSession, team_id: str, environment: str, service: str, at: datetime
) -> Sequence[DeployLock]:
    """Locks covering `service` in `environment` at `at` (its own and `*`), not ended nor run out, oldest first."""
    query = (
        select(DeployLock)
        .where(
            DeployLock.team_id == team_id,
            DeployLock.environment == environment,
            col(DeployLock.service).in_([service, "*"]),
            DeployLock.state != ENDED,
            col(DeployLock.until) > at,
        )
        .order_by(col(DeployLock.since), col(DeployLock.id))
    )
    return (await session.exec(query)).all()


async def all_live(*, session: AsyncSession, team_id: str, at: datetime | None = None) -> Sequence[DeployLock]:
    """Every lock not ended (and, given `at`, not run out), by environment and service."""
    query = select(DeployLock).where(DeployLock.team_id == team_id, DeployLock.state != ENDED)
    if at is not None:
        query = query.where(col(DeployLock.until) > at)
    query = query.order_by(col(DeployLock.environment), col(DeployLock.service))
    return (await session.exec(query)).all()


async def overlapping(*, session: AsyncSession, team_id: str, start: datetime, end: datetime) -> Sequence[DeployLock]:
    """Locks held at some moment of [start, end) (ended ones for the part they were held): the calendar's busy
    blocks."""
    query = (
        select(DeployLock)
        .where(
            DeployLock.team_id == team_id,
            col(DeployLock.since) < end,
            col(DeployLock.until) > start,
            or_(col(DeployLock.ended_at).is_(None), col(DeployLock.ended_at) > start),
        )
        .order_by(col(DeployLock.since), col(DeployLock.id))
        .limit(500)
    )
    return (await session.exec(query)).all()


_WAITING = col(LockQueueEntry.left_at).is_(None)


async def waiting(
    *, session: AsyncSession, team_id: str, service: str | None = None, environment: str | None = None
) -> Sequence[LockQueueEntry]:
    """Who waits, first come first served (for one service × environment, or every queue)."""
    query = select(LockQueueEntry).where(LockQueueEntry.team_id == team_id, _WAITING)
    if service is not None:
        query = query.where(LockQueueEntry.service == service)
    if environment is not None:
        query = query.where(LockQueueEntry.environment == environment)
    query = query.order_by(col(LockQueueEntry.environment), col(LockQueueEntry.service), col(LockQueueEntry.id))
    return (await session.exec(query)).all()


async def next_in_line(*, session: AsyncSession, team_id: str, service: str, environment: str) -> LockQueueEntry | None:
    query = (
        select(LockQueueEntry)
        .where(
            LockQueueEntry.team_id == team_id,
            LockQueueEntry.service == service,
            LockQueueEntry.environment == environment,
            _WAITING,
        )
        .order_by(col(LockQueueEntry.id))
        .limit(1)
        .with_for_update()
    )
    return (await session.exec(query)).first()


# App Home reads these on every open: plain rows through statements built once.
_LOCKS = table_of(DeployLock)
_MINE = table_of(LockQueueEntry).alias("mine")
_LINE = table_of(LockQueueEntry).alias("line")
HELD = (  # service, environment, state, until, reason
    core_select(_LOCKS.c.service, _LOCKS.c.environment, _LOCKS.c.state, _LOCKS.c.until, _LOCKS.c.reason)
    .where(
        _LOCKS.c.team_id == bindparam("team_id"),
        _LOCKS.c.holder == bindparam("user_id"),
        _LOCKS.c.state != ENDED,
        _LOCKS.c.until > bindparam("at"),
    )
    .order_by(_LOCKS.c.until)
)
PLACES = (  # service, environment, position (1 = next)
    core_select(_MINE.c.service, _MINE.c.environment, func.count(_LINE.c.id).label("position"))
    .select_from(
        _MINE.join(
            _LINE,
            and_(
                _LINE.c.team_id == _MINE.c.team_id,
                _LINE.c.service == _MINE.c.service,
                _LINE.c.environment == _MINE.c.environment,
                _LINE.c.left_at.is_(None),
                _LINE.c.id <= _MINE.c.id,
            ),
        )
    )
    .where(_MINE.c.team_id == bindparam("team_id"), _MINE.c.user_id == bindparam("user_id"), _MINE.c.left_at.is_(None))
    .group_by(_MINE.c.id, _MINE.c.service, _MINE.c.environment)
    .order_by(_MINE.c.id)
)


async def held_rows(*, session: Reader, team_id: str, user_id: str, at: datetime) -> Sequence[Any]:
    """A person's locks not ended by `at` (held, or offered to them): service, environment, state, until, reason."""
    connection = await rows_of(session)
    return (await connection.execute(HELD, {"team_id": team_id, "user_id": user_id, "at": at})).all()


async def places_of(*, session: Reader, team_id: str, user_id: str) -> Sequence[Any]:
    """A person's places in lock queues, first come first served: service, environment, position (1 = next)."""
    connection = await rows_of(session)
    return (await connection.execute(PLACES, {"team_id": team_id, "user_id": user_id})).all()
