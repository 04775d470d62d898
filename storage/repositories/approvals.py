"""Approval and rejection decisions."""

from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, insert
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Reader, rows_of
from storage.models import Approval
from storage.models.tables import APPROVALS, select_fields
from storage.repositories.in_lists import in_values, values
from storage.types import utcnow

_ACTIVE = (
    select(Approval)
    .where(
        Approval.team_id == bindparam("team_id"),
        Approval.release_id == bindparam("release_id"),
        col(Approval.invalidated_at).is_(None),
    )
    .order_by(col(Approval.id))
)


async def active(*, session: AsyncSession, team_id: str, release_id: int) -> Sequence[Approval]:
    """The decisions that stand (the statement is built once: every approval and card reads it)."""
    return (await session.exec(_ACTIVE, params={"team_id": team_id, "release_id": release_id})).all()


class Decided(NamedTuple):
    """An active approval or rejection (`approval_policy.Decision`), as a plain row."""

    release_id: int
    environment: str
    user_id: str
    decision: str


def decided(team_id: ColumnElement[str], release: ColumnElement[bool]) -> Select[Any]:
    """The active decisions of the releases `release` picks, in `team_id`, oldest first (`Decided` rows)."""
    return (
        select_fields(APPROVALS, Decided._fields)
        .where(APPROVALS.c.team_id == team_id, release, APPROVALS.c.invalidated_at.is_(None))
        .order_by(APPROVALS.c.id)
    )


@cache
def _decisions_of(releases: int) -> Select[Any]:
    return decided(bindparam("team_id"), in_values(APPROVALS.c.release_id, "release", releases))


async def decisions_of(*, session: Reader, team_id: str, release_ids: Sequence[int]) -> dict[int, list[Decided]]:
    """Active decisions of many releases in one query, keyed by release (every id present)."""
    grouped: dict[int, list[Decided]] = {release_id: [] for release_id in release_ids}
    if not release_ids:
        return grouped
    connection = await rows_of(session)
    ids = list(grouped)
    for row in (
        await connection.execute(_decisions_of(len(ids)), {"team_id": team_id, **values("release", ids)})
    ).all():
        grouped[row[0]].append(Decided(*row))
    return grouped


_INSERT = insert(APPROVALS)  # built once


class NewDecision(NamedTuple):
    """A decision to record: what `Approval` holds when it is made (its id, time and invalidation are the row's)."""

    team_id: str
    release_id: int
    environment: str
    user_id: str
    decision: str  # approve | reject
    comment: str
    scope_hash: str
    scope_version: int
    group_name: str | None = None


async def add(session: AsyncSession, decision: NewDecision, /) -> None:
    """Written at once, as a core statement (a decision is never changed by the transaction that makes it): a
    second active decision of the same person for the same environment raises `IntegrityError` here."""
    values = {**decision._asdict(), "created_at": utcnow(), "invalidated_at": None}
    await (await rows_of(session)).execute(_INSERT, values)


async def invalidate(
    *,
    session: AsyncSession,
    team_id: str,
    release_id: int,
    user_id: str | None = None,
    decision: str | None = None,
) -> int:
    statement = update(Approval).where(
        col(Approval.team_id) == team_id,
        col(Approval.release_id) == release_id,
        col(Approval.invalidated_at).is_(None),
    )
    if user_id is not None:
        statement = statement.where(col(Approval.user_id) == user_id)
    if decision is not None:
        statement = statement.where(col(Approval.decision) == decision)
    result = await session.exec(statement.values(invalidated_at=utcnow()))
    return int(result.rowcount)


async def pending_for_releases(
    *, session: AsyncSession, team_id: str, release_ids: Sequence[int]
) -> dict[int, list[Approval]]:
    """Active decisions of many releases in one query (no N+1 on lists and App Home)."""
    if not release_ids:
        return {}
    query = (
        select(Approval)
        .where(
            Approval.team_id == team_id,
            col(Approval.release_id).in_(release_ids),
            col(Approval.invalidated_at).is_(None),
        )
        .order_by(col(Approval.id))
    )
    grouped: dict[int, list[Approval]] = {release_id: [] for release_id in release_ids}
    for approval in (await session.exec(query)).all():
        grouped[approval.release_id].append(approval)
    return grouped
