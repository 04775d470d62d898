"""The append-only audit trail."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Integer, bindparam, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEvent, Release


def append(
    session: AsyncSession,
    team_id: str,
    actor_id: str,
    action: str,
    /,
    *,
    release_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(team_id=team_id, release_id=release_id, actor_id=actor_id, action=action, details=details or {})
    session.add(event)
    return event


def record(session: AsyncSession, release: Release, actor_id: str, action: str, /, **details: Any) -> AuditEvent:
    """An event in `release`'s history (in its workspace); the leading four are positional, so any name is a detail."""
    return append(session, release.team_id, actor_id, action, release_id=release.pk, details=details)


# `/release history` reads these on every call: built once, with bound parameters.
_NEWEST = (
    select(AuditEvent)
    .where(AuditEvent.team_id == bindparam("team_id"), AuditEvent.release_id == bindparam("release_id"))
    .order_by(col(AuditEvent.id).desc())
    .limit(bindparam("limit", type_=Integer))
)
_COUNT_BEFORE = select(func.count()).where(
    AuditEvent.team_id == bindparam("team_id"),
    AuditEvent.release_id == bindparam("release_id"),
    col(AuditEvent.id) < bindparam("before_id"),
)


async def newest_for_release(
    *, session: AsyncSession, team_id: str, release_id: int, limit: int
) -> Sequence[AuditEvent]:
    """The newest `limit` events of a release, in time order (one walk down the (team, release, id) index)."""
    params = {"team_id": team_id, "release_id": release_id, "limit": limit}
    return list(reversed((await session.exec(_NEWEST, params=params)).all()))


async def count_before(*, session: AsyncSession, team_id: str, release_id: int, before_id: int) -> int:
    """How many events of a release are older than event `before_id` (an index range count)."""
    params = {"team_id": team_id, "release_id": release_id, "before_id": before_id}
    return int((await session.exec(_COUNT_BEFORE, params=params)).one())


async def latest(
    *, session: AsyncSession, team_id: str, release_id: int, action: str, details: Mapping[str, str]
) -> AuditEvent | None:
    """The newest `action` event of a release whose details hold these text values: a walk down the
    (team, release, id) index from the newest event, stopping at the first match."""
    query = select(AuditEvent).where(
        AuditEvent.team_id == team_id, AuditEvent.release_id == release_id, AuditEvent.action == action
    )
    for key, value in details.items():
        query = query.where(col(AuditEvent.details)[key].as_string() == value)
    return (await session.exec(query.order_by(col(AuditEvent.id).desc()).limit(1))).first()
