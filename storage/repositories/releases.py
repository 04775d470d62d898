"""Release look-ups. Scoped by `team_id`, never commit; new rows are added positionally, the rest take
keywords."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from pydantic_core import PydanticUndefined
from sqlalchemy import Integer, Select, and_, bindparam, case, func, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.lifecycle import Status
from storage.db import Reader, rows_of
from storage.models import Release
from storage.models.tables import RELEASES, select_fields
from storage.repositories.in_lists import in_values, values
from storage.repositories.loaded import loaded

PAGE = 20


# The hot look-ups are built once with bound parameters (building a select costs more CPU than running it).
# `service@version` in a workspace (`:team_id`, `:service`, `:version`): the release a ref names.
MATCHES_REF = (
    RELEASES.c.team_id == bindparam("team_id"),
    RELEASES.c.service == bindparam("service"),
    RELEASES.c.version == bindparam("version"),
)
_BY_REF = select(Release).where(*MATCHES_REF)
_BY_ID = select(Release).where(Release.team_id == bindparam("team_id"), Release.id == bindparam("release_id"))


async def get(*, session: AsyncSession, team_id: str, service: str, version: str) -> Release | None:
    params = {"team_id": team_id, "service": service, "version": version}
    return (await session.exec(_BY_REF, params=params)).first()


_STATUS_BY_REF = select_fields(RELEASES, ("id", "status")).where(*MATCHES_REF)


async def status_of(*, session: Reader, team_id: str, service: str, version: str) -> tuple[int, Status] | None:
    """Whether `service@version` exists, and its status, as a plain row (a proposal asks: building the release it
    mostly does not find as an ORM object would cost more than the read)."""
    params = {"team_id": team_id, "service": service, "version": version}
    row = (await (await rows_of(session)).execute(_STATUS_BY_REF, params)).first()
    return (row[0], row[1]) if row is not None else None


async def get_by_id(*, session: AsyncSession, team_id: str, release_id: int) -> Release | None:
    return (await session.exec(_BY_ID, params={"team_id": team_id, "release_id": release_id})).first()


async def by_ids(*, session: AsyncSession, team_id: str, release_ids: Sequence[int]) -> dict[int, Release]:
    """Many releases by id in one query (batched job runs), keyed by id."""
    if not release_ids:
        return {}
    query = select(Release).where(Release.team_id == team_id, col(Release.id).in_(sorted(set(release_ids))))
    return {release.pk: release for release in (await session.exec(query)).all()}


# Every column, core: a state change's first read builds its object as a load would (`_held`).
_EVERY_COLUMN = select_fields(RELEASES, tuple(RELEASES.c.keys()))
_LOCK_BY_REF = _EVERY_COLUMN.where(*MATCHES_REF).with_for_update()
_LOCK_BY_ID = _EVERY_COLUMN.where(
    RELEASES.c.team_id == bindparam("team_id"), RELEASES.c.id == bindparam("release_id")
).with_for_update()


async def lock(*, session: AsyncSession, team_id: str, service: str, version: str) -> Release | None:
    """Load for a state change: PostgreSQL holds a row lock until commit (SQLite serialises writers anyway)."""
    return await _held(session, _LOCK_BY_REF, {"team_id": team_id, "service": service, "version": version})


async def lock_by_id(*, session: AsyncSession, team_id: str, release_id: int) -> Release | None:
    return await _held(session, _LOCK_BY_ID, {"team_id": team_id, "release_id": release_id})


async def _held(session: AsyncSession, statement: Select[Any], params: dict[str, Any]) -> Release | None:
    """The locked row as the session's object: fresh from the row even if the session held it already (what the
    ORM's `populate_existing` does), else built as a load would and added, with nothing to flush."""
    row = (await (await rows_of(session)).execute(statement, params)).mappings().first()
    if row is None:
        return None
    present = session.sync_session.identity_map.get(identity_key(Release, row["id"]))
    if isinstance(present, Release):
        for name, value in row.items():
            set_committed_value(present, name, value)
        return present
    release = loaded(Release, row)
    session.add(release)
    return release


_HOLD_BY_ID = (
    select(Release.id)
    .where(Release.team_id == bindparam("team_id"), Release.id == bindparam("release_id"))
    .with_for_update(key_share=True)  # PostgreSQL: FOR NO KEY UPDATE
)


async def hold(*, session: AsyncSession, team_id: str, release_id: int) -> None:
    """Take turns with other writers of the release until commit, without blocking its readers: the lock its jobs'
    runners take first (`jobs.fence`; PostgreSQL `FOR NO KEY UPDATE`), so within one the second take is free.
    SQLite serialises writers anyway."""
    await session.exec(_HOLD_BY_ID, params={"team_id": team_id, "release_id": release_id})


async def save(session: AsyncSession, release: Release, /, **columns: Any) -> None:
    """Write these columns of `release` now (a core UPDATE by id) and hold them in the object as if loaded: what a
    change always writes (its version, its time, its status) costs no unit-of-work flush. Anything else set on the
    object is still the session's to flush."""
    await (await rows_of(session)).execute(version_update(tuple(columns)), {"saved_id": release.pk, **columns})
    saved(release, columns)


def saved(release: Release, columns: dict[str, Any]) -> None:
    """Hold `columns`, just written, in the object as if loaded (nothing for the session to flush)."""
    for name, value in columns.items():
        set_committed_value(release, name, value)


@cache
def version_update(names: tuple[str, ...], prefix: str = "") -> Any:
    """`save`'s UPDATE of these columns by `:saved_id`, each from the parameter `prefix` + its name; built once per
    set of names."""
    return (
        RELEASES.update()
        .where(RELEASES.c.id == bindparam("saved_id"))
        .values({RELEASES.c[name]: bindparam(prefix + name, type_=RELEASES.c[name].type) for name in names})
    )


class ShownRelease(NamedTuple):
    """A release as its card shows it (`release_card.Shown`), as a plain row: `/release show` builds no ORM object."""

    id: int
    team_id: str
    service: str
    version: str
    summary: str
    changes: str
    risk: str
    rollback_plan: str
    window_start: datetime | None
    window_end: datetime | None
    status: Status
    proposer_id: str
    scope_authors: str
    commit_sha: str | None
    change_class: str
    standard_name: str | None
    incident_url: str | None
    retro_due_at: datetime | None
    retro_approved_at: datetime | None

    @property
    def pk(self) -> int:
        return self.id

    @property
    def ref(self) -> str:
        return f"{self.service}@{self.version}"


_SHOWN_BY_REF = select_fields(RELEASES, ShownRelease._fields).where(*MATCHES_REF)


async def shown(*, session: Reader, team_id: str, service: str, version: str) -> ShownRelease | None:
    """`get` as the plain row of what its card shows."""
    params = {"team_id": team_id, "service": service, "version": version}
    row = (await (await rows_of(session)).execute(_SHOWN_BY_REF, params)).first()
    return ShownRelease(*row) if row is not None else None


class ReleaseLine(NamedTuple):
    """A release as a list shows it."""

    id: int
    service: str
    version: str
    status: Status
    proposer_id: str
    summary: str


_RECENT_LINES = (
    select_fields(RELEASES, ReleaseLine._fields)
    .where(RELEASES.c.team_id == bindparam("team_id"))
    .order_by(RELEASES.c.id.desc())
    .limit(bindparam("limit", type_=Integer))
)
_RECENT_LINES_OF = _RECENT_LINES.where(RELEASES.c.service == bindparam("service"))


async def recent_lines(
    *, session: Reader, team_id: str, service: str | None = None, limit: int = PAGE
) -> Sequence[ReleaseLine]:
    """`recent` as plain rows of what a list shows (no ORM objects to build: the read path of `/release list`)."""
    connection = await rows_of(session)  # core, past the ORM
    params = {"team_id": team_id, "limit": limit}
    if service:
        result = await connection.execute(_RECENT_LINES_OF, {**params, "service": service})
    else:
        result = await connection.execute(_RECENT_LINES, params)
    return [ReleaseLine(*row) for row in result.all()]  # one fetch, not one per row


async def with_status(
    *, session: AsyncSession, team_id: str, statuses: Iterable[Status], limit: int = 200
) -> Sequence[Release]:
    query = (
        select(Release)
        .where(Release.team_id == team_id, col(Release.status).in_(sorted(statuses)))
        .order_by(col(Release.id).desc())
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def with_commit(*, session: AsyncSession, team_id: str, service: str, sha: str) -> Sequence[Release]:
    """The releases of `service` whose recorded commit is `sha`, newest first (a few at most: one per version)."""
    query = (
        select(Release)
        .where(Release.team_id == team_id, Release.service == service, Release.commit_sha == sha.lower())
        .order_by(col(Release.id).desc())
        .limit(20)
    )
    return (await session.exec(query)).all()


# What a new release holds unless told otherwise: the model's plain defaults (its times are always given; its id
# is the database's).
_NEW = {
    name: field.default
    for name, field in Release.model_fields.items()
    if name != "id" and field.default_factory is None and field.default is not PydanticUndefined
}


async def insert_new(session: AsyncSession, /, **columns: Any) -> Release | None:
    """A new release with these columns, written at once (one core INSERT, no unit of work) and held in the session
    as if loaded; None when its ref exists (a concurrent proposal's included: the database decides)."""
    row = {**_NEW, **columns}
    connection = await rows_of(session)
    inserted = await connection.execute(_insert_new(connection.dialect.name), row)
    found = inserted.first()
    if found is None:
        return None
    release = loaded(Release, {**row, "id": found[0]})
    session.add(release)  # persistent, nothing to flush
    return release


@cache
def _insert_new(dialect: str) -> Any:
    """INSERT … ON CONFLICT (team, service, version) DO NOTHING RETURNING id, built once per dialect."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(RELEASES)
        .on_conflict_do_nothing(index_elements=[RELEASES.c.team_id, RELEASES.c.service, RELEASES.c.version])
        .returning(RELEASES.c.id)
    )


class FlightLine(NamedTuple):
    """A release on its way, as `/release status` shows it."""

    id: int
    service: str
    version: str
    status: Status


@cache
def _in_flight(statuses: int, one_service: bool) -> Select[Any]:
    query = select_fields(RELEASES, FlightLine._fields).where(
        RELEASES.c.team_id == bindparam("team_id"), in_values(RELEASES.c.status, "status", statuses)
    )
    if one_service:
        query = query.where(RELEASES.c.service == bindparam("service"))
    return query.order_by(RELEASES.c.id.desc()).limit(bindparam("limit", type_=Integer))


async def in_flight(
    *, session: AsyncSession, team_id: str, statuses: Iterable[Status], service: str | None = None, limit: int = 100
) -> list[FlightLine]:
    """Releases of one service (or all) in the given statuses, newest first, as plain rows."""
    wanted = sorted(statuses)
    params = {"team_id": team_id, "service": service, "limit": limit, **values("status", wanted)}
    connection = await rows_of(session)
    rows = await connection.execute(_in_flight(len(wanted), bool(service)), params)
    return [FlightLine(*row) for row in rows.all()]


async def for_cab(
    *, session: AsyncSession, team_id: str, statuses: Iterable[Status], risks: Sequence[str], before: datetime
) -> Sequence[Release]:
    """Normal changes of `risks` in `statuses` that the CAB has not settled (undecided or deferred), unplanned or
    planned before `before`: planned ones first, by their window."""
    if not risks:
        return []
    query = (
        select(Release)
        .where(
            Release.team_id == team_id,
            col(Release.status).in_(sorted(statuses)),
            Release.change_class == "normal",
            col(Release.risk).in_(sorted(risks)),
            or_(col(Release.cab_decision).is_(None), col(Release.cab_decision) == "defer"),
            or_(col(Release.window_start).is_(None), col(Release.window_start) < before),
        )
        .order_by(col(Release.window_start).is_(None), col(Release.window_start), col(Release.id))
        .limit(50)
    )
    return (await session.exec(query)).all()


class EmergencyCounts(NamedTuple):
    total: int  # emergency changes that reached the final environment in the period
    in_time: int  # … whose full approval came by its due time
    overdue: int  # … whose full approval is past due and still missing


async def emergency_counts(
    *, session: AsyncSession, team_id: str, service: str | None, start: datetime, end: datetime, now: datetime
) -> EmergencyCounts:
    """Emergency changes whose full approval fell due in [start, end) (it is due a fixed delay after production)."""
    in_time = and_(col(Release.retro_approved_at).is_not(None), col(Release.retro_approved_at) <= Release.retro_due_at)
    overdue = and_(col(Release.retro_approved_at).is_(None), col(Release.retro_due_at) < now)
    query = select(
        func.count(),
        func.coalesce(func.sum(case((in_time, 1), else_=0)), 0),
        func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
    ).where(
        Release.team_id == team_id,
        Release.change_class == "emergency",
        col(Release.retro_due_at) >= start,
        col(Release.retro_due_at) < end,
    )
    if service is not None:
        query = query.where(Release.service == service)
    total, approved, late = (await session.exec(query)).one()
    return EmergencyCounts(int(total), int(approved), int(late))


class OwedRetro(NamedTuple):
    """An emergency change in production still owing its full approval, as App Home lists it."""

    id: int
    service: str
    version: str
    proposer_id: str
    summary: str
    retro_due_at: datetime


_AWAITING_RETRO = (
    select_fields(RELEASES, OwedRetro._fields)
    .where(
        RELEASES.c.team_id == bindparam("team_id"),
        RELEASES.c.change_class == "emergency",
        RELEASES.c.retro_due_at.is_not(None),
        RELEASES.c.retro_approved_at.is_(None),
        in_values(RELEASES.c.status, "status", 3),
    )
    .order_by(RELEASES.c.retro_due_at)
    .limit(bindparam("limit", type_=Integer))
)
_IN_PRODUCTION = values("status", sorted({Status.RELEASED, Status.ROLLED_BACK, Status.REVIEWED}))


async def awaiting_retro(*, session: Reader, team_id: str, limit: int = 10) -> list[OwedRetro]:
    """Emergency changes in production still short of their full approval, soonest due first."""
    connection = await rows_of(session)
    found = await connection.execute(_AWAITING_RETRO, {"team_id": team_id, "limit": limit, **_IN_PRODUCTION})
    return [OwedRetro(*row) for row in found.all()]
