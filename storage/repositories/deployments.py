"""Deployments: what went where, and what is live now.

"Live" in an environment means the newest succeeded deployment there that was not rolled back. Every query here
walks the (team_id, service, environment, id) index.
"""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, func, text
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Reader, rows_of
from storage.models import Deployment
from storage.models.tables import DEPLOYMENTS, select_fields
from storage.repositories.in_lists import in_values, values

SUCCEEDED = "succeeded"


def _live() -> ColumnElement[bool]:
    return and_(col(Deployment.outcome) == SUCCEEDED, col(Deployment.rolled_back_at).is_(None))


_FOR_RELEASE = (
    select(Deployment)
    .where(Deployment.team_id == bindparam("team_id"), Deployment.release_id == bindparam("release_id"))
    .order_by(col(Deployment.id))
)


async def for_release(*, session: AsyncSession, team_id: str, release_id: int) -> Sequence[Deployment]:
    """A release's deployments, oldest first (the statement is built once: every card reads it)."""
    return (await session.exec(_FOR_RELEASE, params={"team_id": team_id, "release_id": release_id})).all()


class DeployedLine(NamedTuple):
    """A deployment as a release's card shows it (`card_sources.Soaked`: its pipeline and soak), as a plain row."""

    id: int
    environment: str
    outcome: str
    rolled_back_at: datetime | None
    created_at: datetime


def lines_of(team_id: ColumnElement[str], release_id: ColumnElement[int]) -> Select[Any]:
    """A release's deployments as its card shows them, oldest first (`DeployedLine` rows)."""
    return (
        select_fields(DEPLOYMENTS, DeployedLine._fields)
        .where(DEPLOYMENTS.c.team_id == team_id, DEPLOYMENTS.c.release_id == release_id)
        .order_by(DEPLOYMENTS.c.id)
    )


_LINES_FOR_RELEASE = lines_of(bindparam("team_id"), bindparam("release_id"))


async def lines_for_release(*, session: Reader, team_id: str, release_id: int) -> list[DeployedLine]:
    """`for_release` as plain rows of what a card shows, oldest first."""
    rows = await (await rows_of(session)).execute(_LINES_FOR_RELEASE, {"team_id": team_id, "release_id": release_id})
    return [DeployedLine(*row) for row in rows.all()]


@cache
def _live_in(releases: int) -> Select[Any]:
    return select(DEPLOYMENTS.c.release_id, DEPLOYMENTS.c.environment).where(
        DEPLOYMENTS.c.team_id == bindparam("team_id"),
        in_values(DEPLOYMENTS.c.release_id, "release", releases),
        DEPLOYMENTS.c.outcome == SUCCEEDED,
        DEPLOYMENTS.c.rolled_back_at.is_(None),
    )


async def live_environments(*, session: AsyncSession, team_id: str, release_ids: Sequence[int]) -> dict[int, set[str]]:
    """Where each of these releases is live (deployed, succeeded, not rolled back), in one query of plain rows;
    every id is a key."""
    grouped: dict[int, set[str]] = {release_id: set() for release_id in release_ids}
    if not grouped:
        return grouped
    connection = await rows_of(session)
    query, params = _live_in(len(grouped)), {"team_id": team_id, **values("release", grouped)}
    for release_id, environment in (await connection.execute(query, params)).all():
        grouped[release_id].add(environment)
    return grouped


async def by_delivery(*, session: AsyncSession, team_id: str, delivery_id: str) -> Deployment | None:
    query = select(Deployment).where(Deployment.team_id == team_id, Deployment.delivery_id == delivery_id)
    return (await session.exec(query)).first()


async def current(*, session: AsyncSession, team_id: str, service: str, environment: str) -> Deployment | None:
    """The deployment live in `environment` now, or None when nothing was ever deployed there."""
    query = (
        select(Deployment)
        .where(Deployment.team_id == team_id, Deployment.service == service, Deployment.environment == environment)
        .where(_live())
        .order_by(col(Deployment.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def previous_stable(*, session: AsyncSession, team_id: str, current: Deployment) -> Deployment | None:
    """What a rollback of `current` restores: the newest earlier succeeded deployment of another version in the
    same environment that was not itself rolled back."""
    assert current.id is not None
    query = (
        select(Deployment)
        .where(
            Deployment.team_id == team_id,
            Deployment.service == current.service,
            Deployment.environment == current.environment,
            col(Deployment.id) < current.id,
            Deployment.version != current.version,
        )
        .where(_live())
        .order_by(col(Deployment.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


class LiveVersion(NamedTuple):
    """What runs in one service × environment: the version of its live deployment."""

    service: str
    environment: str
    version: str


def _newest_live(one_service: bool) -> Select[Any]:
    newest = (
        select(func.max(DEPLOYMENTS.c.id))
        .where(
            DEPLOYMENTS.c.team_id == bindparam("team_id"),
            DEPLOYMENTS.c.outcome == SUCCEEDED,
            DEPLOYMENTS.c.rolled_back_at.is_(None),
        )
        .group_by(DEPLOYMENTS.c.service, DEPLOYMENTS.c.environment)
    )
    if one_service:
        newest = newest.where(DEPLOYMENTS.c.service == bindparam("service"))
    return (
        select_fields(DEPLOYMENTS, LiveVersion._fields)
        .where(DEPLOYMENTS.c.team_id == bindparam("team_id"), DEPLOYMENTS.c.id.in_(newest.scalar_subquery()))
        .order_by(DEPLOYMENTS.c.service, DEPLOYMENTS.c.id)
        .limit(bindparam("limit", type_=Integer))
    )


_LIVE, _LIVE_OF = _newest_live(False), _newest_live(True)


async def live_by_environment(
    *, session: AsyncSession, team_id: str, service: str | None = None, limit: int = 500
) -> list[LiveVersion]:
    """The live version of every service × environment (optionally one service), in one query of plain rows."""
    connection = await rows_of(session)
    params = {"team_id": team_id, "service": service, "limit": limit}
    rows = await connection.execute(_LIVE if service is None else _LIVE_OF, params)
    return [LiveVersion(*row) for row in rows.all()]


async def mark_rolled_back(
    *,
    session: AsyncSession,
    team_id: str,
    service: str,
    environment: str,
    after_id: int,
    at: datetime,
    by: str,
    reason: str,
) -> int:
    """Mark every live deployment newer than `after_id` in the environment as rolled back; returns how many."""
    statement = (
        update(Deployment)
        .where(
            col(Deployment.team_id) == team_id,
            col(Deployment.service) == service,
            col(Deployment.environment) == environment,
            col(Deployment.id) > after_id,
            col(Deployment.rolled_back_at).is_(None),
            col(Deployment.outcome) == SUCCEEDED,
        )
        .values(rolled_back_at=at, rolled_back_by=by, rollback_reason=reason)
    )
    result = await session.exec(statement)
    return int(result.rowcount)


async def lock_slot(*, session: AsyncSession, team_id: str, service: str, environment: str) -> None:
    """Serialise changes to what is live in one service × environment until commit (two rollbacks typed at once
    must not roll back twice). PostgreSQL: a transaction advisory lock; SQLite writers are serial already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = f"deploy:{team_id}:{service}:{environment}"
    await session.exec(text("SELECT pg_advisory_xact_lock(hashtext(:key))").bindparams(key=key))  # type: ignore[call-overload]


async def reached(*, session: AsyncSession, team_id: str, release_id: int) -> set[str]:
    """Environments this release was deployed to successfully."""
    query = select(Deployment.environment).where(
        Deployment.team_id == team_id, Deployment.release_id == release_id, Deployment.outcome == SUCCEEDED
    )
    return set((await session.exec(query)).all())


async def first_commit_at(*, session: AsyncSession, team_id: str, release_id: int) -> datetime | None:
    """The earliest commit time CI reported for any deployment of the release."""
    query = select(func.min(Deployment.commit_at)).where(
        Deployment.team_id == team_id, Deployment.release_id == release_id
    )
    return (await session.exec(query)).first()


async def mark_verification_failed(
    *, session: AsyncSession, team_id: str, release_id: int, environment: str, at: datetime
) -> int:
    """A failed regression sign-off makes the release's newest succeeded deployment there a change failure (once:
    a later sign-off, passed or failed, does not move it)."""
    newest = (
        select(func.max(Deployment.id))
        .where(
            Deployment.team_id == team_id,
            Deployment.release_id == release_id,
            Deployment.environment == environment,
            Deployment.outcome == SUCCEEDED,
        )
        .scalar_subquery()
    )
    statement = (
        update(Deployment)
        .where(
            col(Deployment.team_id) == team_id,
            col(Deployment.id) == newest,
            col(Deployment.verification_failed_at).is_(None),
        )
        .values(verification_failed_at=at)
    )
    result = await session.exec(statement)
    return int(result.rowcount)


def add(session: AsyncSession, deployment: Deployment, /) -> Deployment:
    session.add(deployment)
    return deployment
