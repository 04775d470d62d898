"""What one person's App Home shows: open releases (their decisions come from `approvals.decisions_of`), their
releases and their open action items, each in one query, as plain rows (no ORM objects to build, and a view made
of values renders once for the same values). The statements are built once, with bound parameters: building a
`select()` costs more CPU than SQLite takes to run it, and App Home runs up to a dozen."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, bindparam, select

from bot.domain.approval_policy import authors_of
from bot.domain.lifecycle import Status
from storage.db import Reader, rows_of
from storage.models import ActionItem
from storage.models.tables import RELEASES, select_fields, table_of
from storage.repositories import locks
from storage.repositories.deploy_requests import REQUESTS, open_environments, open_of
from storage.repositories.in_lists import in_values, values
from storage.repositories.one_trip import array_of, on_postgres, rows_in

ROWS = 100  # at most this many of a person's releases, and of their action items


class MyRelease(NamedTuple):
    """One of the person's releases in flight, as the tab shows it (a plain row)."""

    id: int
    service: str
    version: str
    status: Status
    window_start: datetime | None
    summary: str


@cache
def _proposed_by(statuses: int) -> Select[Any]:
    return (
        select_fields(RELEASES, MyRelease._fields)
        .where(
            RELEASES.c.team_id == bindparam("team_id"),
            RELEASES.c.proposer_id == bindparam("user_id"),
            in_values(RELEASES.c.status, "in_status", statuses),
        )
        .order_by(RELEASES.c.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


async def proposed_by(
    *, session: Reader, team_id: str, user_id: str, statuses: Iterable[Status], limit: int = ROWS
) -> list[MyRelease]:
    wanted = sorted(statuses)
    params = {"team_id": team_id, "user_id": user_id, "limit": limit, **values("in_status", wanted)}
    connection = await rows_of(session)
    return [MyRelease(*row) for row in (await connection.execute(_proposed_by(len(wanted)), params)).all()]


class OpenItem(NamedTuple):
    id: int
    text: str
    due_at: datetime


class ItsRelease(NamedTuple):
    service: str
    version: str


ACTION_ITEMS = table_of(ActionItem)
_OPEN_ACTION_ITEMS = (
    select(*[ACTION_ITEMS.c[name] for name in OpenItem._fields], *[RELEASES.c[name] for name in ItsRelease._fields])
    .join(RELEASES, RELEASES.c.id == ACTION_ITEMS.c.release_id)
    .where(
        ACTION_ITEMS.c.team_id == bindparam("team_id"),
        ACTION_ITEMS.c.owner_id == bindparam("owner_id"),
        ACTION_ITEMS.c.status == "open",
    )
    .order_by(ACTION_ITEMS.c.due_at, ACTION_ITEMS.c.id)
    .limit(bindparam("limit", type_=Integer))
)


async def open_action_items(
    *, session: Reader, team_id: str, owner_id: str, limit: int = ROWS
) -> list[tuple[OpenItem, ItsRelease]]:
    """Open action items owned by `owner_id` with their release, soonest due first (plain rows)."""
    params = {"team_id": team_id, "owner_id": owner_id, "limit": limit}
    connection = await rows_of(session)
    return [
        (OpenItem(*row[:3]), ItsRelease(*row[3:]))
        for row in (await connection.execute(_OPEN_ACTION_ITEMS, params)).all()
    ]


class OpenRelease(NamedTuple):
    """An open release as the App Home weighs and shows it (a plain row: the Home reads up to 200 of them)."""

    id: int
    service: str
    version: str
    status: Status
    risk: str
    proposer_id: str
    summary: str
    window_start: datetime | None
    scope_authors: str  # who changed its scope since it was proposed (space-separated; none may approve it)
    change_class: str  # its change class and what sets its quorum with it (bot/domain/change_classes.py)
    standard_name: str | None
    retro_due_at: datetime | None
    retro_approved_at: datetime | None

    @property
    def ref(self) -> str:
        return f"{self.service}@{self.version}"

    @property
    def authors(self) -> tuple[str, ...]:
        return authors_of(self.scope_authors)


@cache
def _open_releases(statuses: int, before: bool) -> Select[Any]:
    query = select_fields(RELEASES, OpenRelease._fields).where(
        RELEASES.c.team_id == bindparam("team_id"), in_values(RELEASES.c.status, "status", statuses)
    )
    if before:
        query = query.where(RELEASES.c.id < bindparam("before_id"))
    return query.order_by(RELEASES.c.id.desc()).limit(bindparam("limit", type_=Integer))


async def open_releases(
    *, session: Reader, team_id: str, statuses: Iterable[Status], limit: int, before_id: int | None = None
) -> list[OpenRelease]:
    """The newest releases in `statuses` (older than `before_id`), newest first, as rows (core select)."""
    wanted = sorted(statuses)
    params = {"team_id": team_id, "limit": limit, "before_id": before_id, **values("status", wanted)}
    connection = await rows_of(session)
    query = _open_releases(len(wanted), before_id is not None)
    return [OpenRelease(*row) for row in (await connection.execute(query, params)).all()]


class Own(NamedTuple):
    """What App Home shows of one person's own, as plain rows: their releases in flight, where those are being
    deployed (release id → environments), their open action items, their locks (`locks.HELD` rows) and their places
    in lock queues (`locks.PLACES` rows)."""

    mine: list[MyRelease]
    deploying: dict[int, list[str]]
    items: list[tuple[OpenItem, ItsRelease]]
    held: Sequence[Sequence[Any]]
    places: Sequence[Sequence[Any]]


@cache
def _own_reads(statuses: int) -> tuple[Select[Any], ...]:
    """The five reads of `own`, sharing their parameters, for one statement on PostgreSQL (the statuses are
    `in_status_<i>`: a compared literal, such as an open action item's status, is bound as `status_<i>`)."""
    mine = _proposed_by(statuses)
    of_mine = REQUESTS.c.release_id.in_(mine.with_only_columns(RELEASES.c.id))
    deploying = open_of(bindparam("team_id"), of_mine, ("release_id", "environment"))
    return mine, deploying, _OPEN_ACTION_ITEMS, locks.HELD, locks.PLACES


@cache
def _own_in_one(statuses: int) -> Select[Any]:
    return select(*[array_of(read) for read in _own_reads(statuses)])


async def own(*, session: Reader, team_id: str, user_id: str, statuses: Iterable[Status], at: datetime) -> Own:
    """`user_id`'s own part of App Home: one round trip on PostgreSQL (`one_trip.py`), five statements on SQLite."""
    connection = await rows_of(session)
    if not on_postgres(connection):
        mine = await proposed_by(session=connection, team_id=team_id, user_id=user_id, statuses=statuses)
        return Own(
            mine,
            await open_environments(session=connection, team_id=team_id, release_ids=[r.id for r in mine]),
            await open_action_items(session=connection, team_id=team_id, owner_id=user_id),
            await locks.held_rows(session=connection, team_id=team_id, user_id=user_id, at=at),
            await locks.places_of(session=connection, team_id=team_id, user_id=user_id),
        )
    wanted = sorted(statuses)
    params = {"team_id": team_id, "user_id": user_id, "owner_id": user_id, "limit": ROWS, "at": at}
    reads = _own_reads(len(wanted))
    found = (await connection.execute(_own_in_one(len(wanted)), {**params, **values("in_status", wanted)})).one()
    mine_rows, deploying_rows, item_rows, held, places = (
        rows_in(read, connection.dialect, arrays) for read, arrays in zip(reads, found, strict=True)
    )
    deploying: dict[int, list[str]] = {}
    for release_id, environment in deploying_rows:
        deploying.setdefault(release_id, []).append(environment)
    items = [(OpenItem(*row[:3]), ItsRelease(*row[3:])) for row in item_rows]
    return Own([MyRelease(*row) for row in mine_rows], deploying, items, held, places)
