"""Deployment requests: open ones per service × environment, found by request id, closed once."""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.pipeline import RequestStatus
from storage.db import Reader, rows_of
from storage.models import DeploymentRequest
from storage.models.tables import select_fields, table_of
from storage.repositories.in_lists import in_values, values

OPEN = "requested"
REQUESTS = table_of(DeploymentRequest)


def add(session: AsyncSession, request: DeploymentRequest, /) -> DeploymentRequest:
    session.add(request)
    return request


async def by_request_id(*, session: AsyncSession, request_id: str, lock: bool = False) -> DeploymentRequest | None:
    query = select(DeploymentRequest).where(DeploymentRequest.request_id == request_id)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()


TRACKED = "github"  # the deployer of a request that only follows a deployment GitHub started


async def open_for_slot(
    *, session: AsyncSession, team_id: str, service: str, environment: str, requested_only: bool = False
) -> DeploymentRequest | None:
    """The newest open request of the slot; `requested_only`: one Shipmate asked a deployer for (not one that
    follows a deployment GitHub started)."""
    query = select(DeploymentRequest).where(
        DeploymentRequest.team_id == team_id,
        DeploymentRequest.service == service,
        DeploymentRequest.environment == environment,
        DeploymentRequest.status == OPEN,
    )
    if requested_only:
        query = query.where(DeploymentRequest.deployer != TRACKED)
    return (await session.exec(query.order_by(col(DeploymentRequest.id).desc()))).first()


class OpenRequest(NamedTuple):
    """An open request as a release's card shows it (`card_sources.Deploying`), as a plain row."""

    release_id: int
    environment: str
    action: str
    version: str
    requested_by: str
    deadline_at: datetime


def open_of(team_id: ColumnElement[str], release: ColumnElement[bool], fields: tuple[str, ...]) -> Select[Any]:
    """`fields` of the open requests of the releases `release` picks, in `team_id`, oldest first."""
    return (
        select_fields(REQUESTS, fields)
        .where(REQUESTS.c.team_id == team_id, release, REQUESTS.c.status == OPEN)
        .order_by(REQUESTS.c.id)
    )


@cache
def _open_of(releases: int, fields: tuple[str, ...]) -> Select[Any]:
    """`fields` of the open requests of `releases` releases (`:release_<i>`), built once per shape."""
    return open_of(bindparam("team_id"), in_values(REQUESTS.c.release_id, "release", releases), fields)


async def open_lines(*, session: Reader, team_id: str, release_ids: Sequence[int]) -> list[OpenRequest]:
    """The open requests of these releases as plain rows of what a card shows, oldest first, in one query."""
    ids = sorted(set(release_ids))
    if not ids:
        return []
    query = _open_of(len(ids), OpenRequest._fields)
    rows = await (await rows_of(session)).execute(query, {"team_id": team_id, **values("release", ids)})
    return [OpenRequest(*row) for row in rows.all()]


async def open_environments(*, session: Reader, team_id: str, release_ids: Sequence[int]) -> dict[int, list[str]]:
    """Where each of these releases has an open request (App Home's "deploying to"), as plain rows; only releases
    with one are keys."""
    if not release_ids:
        return {}
    connection = await rows_of(session)
    grouped: dict[int, list[str]] = {}
    ids = sorted(set(release_ids))
    query = _open_of(len(ids), ("release_id", "environment"))
    for release_id, environment in (
        await connection.execute(query, {"team_id": team_id, **values("release", ids)})
    ).all():
        grouped.setdefault(release_id, []).append(environment)
    return grouped


async def finish(
    *,
    session: AsyncSession,
    request: DeploymentRequest,
    status: str,
    at: datetime,
    deployment_id: int | None = None,
    ci_url: str | None = None,
) -> bool:
    """Close an open request; False when someone closed it first (it is closed once)."""
    result = await session.exec(
        update(DeploymentRequest)
        .where(col(DeploymentRequest.id) == request.id, col(DeploymentRequest.status) == OPEN)
        .values(status=status, finished_at=at, deployment_id=deployment_id, ci_url=ci_url or request.ci_url)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        return False
    request.status, request.finished_at, request.deployment_id = status, at, deployment_id
    request.ci_url = ci_url or request.ci_url
    return True


async def undeliverable(*, session: AsyncSession, request_id: str, error: str) -> DeploymentRequest | None:
    """The dispatcher gave up sending the request: say why on the row (the timeout job then closes it)."""
    await session.exec(
        update(DeploymentRequest)
        .where(col(DeploymentRequest.request_id) == request_id, col(DeploymentRequest.status) == OPEN)
        .values(last_error=error[:1000])
        .execution_options(synchronize_session=False)
    )
    return await by_request_id(session=session, request_id=request_id)


async def drop_open(*, session: AsyncSession, team_id: str, at: datetime) -> list[DeploymentRequest]:
    """Every open request of a workspace, closed as dropped; the ones it closed."""
    rows = (
        await session.exec(
            select(DeploymentRequest).where(
                col(DeploymentRequest.team_id) == team_id, col(DeploymentRequest.status) == OPEN
            )
        )
    ).all()
    closed = []
    for row in rows:
        if await finish(session=session, request=row, status=RequestStatus.DROPPED, at=at):
            closed.append(row)
    return closed
