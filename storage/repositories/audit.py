"""The append-only audit trail."""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Integer, bindparam, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import rows_of
from storage.models import AuditEvent, Release
from storage.models.tables import select_fields, table_of
from storage.repositories import appends, audit_chain  # noqa: F401  (audit_chain links each event as it is written)
from storage.types import utcnow

AUDIT_EVENTS = table_of(AuditEvent)


def append(
    session: AsyncSession,
    team_id: str,
    actor_id: str,
    action: str,
    /,
    *,
    release_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """An audit event, written with the transaction's other appends when it commits."""
    row = {
        "team_id": team_id,
        "release_id": release_id,
        "actor_id": actor_id,
        "action": str(action),
        "details": details or {},
        "created_at": utcnow(),
    }
    appends.add(session, AUDIT_EVENTS, row)


def record(session: AsyncSession, release: Release, actor_id: str, action: str, /, **details: Any) -> None:
    """An event in `release`'s history (in its workspace); the leading four are positional, so any name is a detail."""
    append(session, release.team_id, actor_id, action, release_id=release.pk, details=details)


# `/release history` reads these on every call: built once, with bound parameters. Both stay inside the
# (team_id, release_id, id) index: a page skips `offset` of its entries there (reading no row it skips) and then
# reads its own rows by id; the count is one range count.
_PAGE_IDS = (
    select(AuditEvent.id)
    .where(AuditEvent.team_id == bindparam("team_id"), AuditEvent.release_id == bindparam("release_id"))
    .order_by(col(AuditEvent.id).desc())
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("offset", type_=Integer))
)
_NEWEST = (
    select(AuditEvent)
    .where(AuditEvent.team_id == bindparam("team_id"), col(AuditEvent.id).in_(_PAGE_IDS))
    .order_by(col(AuditEvent.id).desc())
)
_COUNT = select(func.count()).where(
    AuditEvent.team_id == bindparam("team_id"), AuditEvent.release_id == bindparam("release_id")
)


async def newest_for_release(
    *, session: AsyncSession, team_id: str, release_id: int, limit: int, offset: int = 0
) -> Sequence[AuditEvent]:
    """The newest `limit` events of a release after the `offset` newest ones, in time order."""
    params = {"team_id": team_id, "release_id": release_id, "limit": limit, "offset": offset}
    return list(reversed((await session.exec(_NEWEST, params=params)).all()))


class Entry(Protocol):
    """An event as a history shows it: an `AuditEvent`, or the plain row `AuditLine`."""

    @property
    def created_at(self) -> datetime: ...
    @property
    def actor_id(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def details(self) -> dict[str, Any]: ...


class AuditLine(NamedTuple):
    """An event as `/release history` shows it, as a plain row (each line renders once for the same event)."""

    id: int
    created_at: datetime
    actor_id: str
    action: str
    details: dict[str, Any]


AUDIT = AUDIT_EVENTS
_NEWEST_LINES = (
    select_fields(AUDIT, AuditLine._fields)
    .where(AUDIT.c.team_id == bindparam("team_id"), AUDIT.c.id.in_(_PAGE_IDS))
    .order_by(AUDIT.c.id.desc())
)


async def lines_for_release(
    *, session: AsyncSession, team_id: str, release_id: int, limit: int, offset: int = 0
) -> list[AuditLine]:
    """`newest_for_release` as plain rows: the read path of `/release history`."""
    params = {"team_id": team_id, "release_id": release_id, "limit": limit, "offset": offset}
    connection = await rows_of(session)
    return [AuditLine(*row) for row in reversed((await connection.execute(_NEWEST_LINES, params)).all())]


async def count_for_release(*, session: AsyncSession, team_id: str, release_id: int) -> int:
    """How many events a release's trail has."""
    params = {"team_id": team_id, "release_id": release_id}
    return int((await session.exec(_COUNT, params=params)).one())


async def recent_of_release(
    *, session: AsyncSession, team_id: str, release_id: int, actions: Collection[str], within: int
) -> Sequence[AuditEvent]:
    """The events with one of `actions` among a release's newest `within`, newest first: a bounded look back,
    whatever the length of the trail."""
    recent = (
        select(AuditEvent.id)
        .where(AuditEvent.team_id == team_id, AuditEvent.release_id == release_id)
        .order_by(col(AuditEvent.id).desc())
        .limit(within)
        .subquery()
    )
    query = (
        select(AuditEvent)
        .where(
            AuditEvent.team_id == team_id,
            col(AuditEvent.id).in_(select(recent.c.id)),
            col(AuditEvent.action).in_(list(actions)),
        )
        .order_by(col(AuditEvent.id).desc())
    )
    return (await session.exec(query)).all()


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
