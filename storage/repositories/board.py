"""What the web board reads that no other surface does, as plain rows, each query walking indexes and stopping at
its limit, whatever the history: the newest deployments and rollbacks of a workspace (`ix_deployments_team_id`,
`ix_deployments_team_rolled_back`, from their newest end), and what is live where (one index probe per service ×
environment on `ix_deployments_team_service_env`, instead of grouping every deployment ever made)."""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import BindParameter, Integer, TextClause, bindparam, text
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models.tables import DEPLOYMENTS, select_fields


class DeploymentLine(NamedTuple):
    id: int
    service: str
    version: str
    environment: str
    actor_id: str
    outcome: str
    created_at: datetime
    rolled_back_at: datetime | None
    rolled_back_by: str | None
    rollback_reason: str | None


_TEAM: BindParameter[str] = bindparam("team_id")
_LIMIT: BindParameter[int] = bindparam("limit", type_=Integer)
_RECENT = (
    select_fields(DEPLOYMENTS, DeploymentLine._fields)
    .where(DEPLOYMENTS.c.team_id == _TEAM)
    .order_by(DEPLOYMENTS.c.id.desc())
    .limit(_LIMIT)
)
_ROLLED_BACK = (
    select_fields(DEPLOYMENTS, DeploymentLine._fields)
    .where(DEPLOYMENTS.c.team_id == _TEAM, DEPLOYMENTS.c.rolled_back_at.is_not(None))
    .order_by(DEPLOYMENTS.c.rolled_back_at.desc(), DEPLOYMENTS.c.id.desc())
    .limit(_LIMIT)
)


async def recent_deployments(*, session: AsyncSession, team_id: str, limit: int) -> list[DeploymentLine]:
    """The workspace's newest deployments (any environment, any outcome), newest first."""
    connection = await session.connection()
    rows = await connection.execute(_RECENT, {"team_id": team_id, "limit": limit})
    return [DeploymentLine(*row) for row in rows.all()]


async def recent_rollbacks(*, session: AsyncSession, team_id: str, limit: int) -> list[DeploymentLine]:
    """The workspace's deployments most recently rolled back, newest rollback first."""
    connection = await session.connection()
    rows = await connection.execute(_ROLLED_BACK, {"team_id": team_id, "limit": limit})
    return [DeploymentLine(*row) for row in rows.all()]


class LiveRow(NamedTuple):
    service: str
    versions: tuple[str | None, ...]  # the version live in each environment asked for, in their order


@cache
def _live_matrix(environments: int) -> TextClause:
    # The workspace's services one index probe at a time (a loose index scan, which neither SQLite nor PostgreSQL
    # plans by itself), then for each environment the newest live deployment from the end of the same index.
    live = ",\n".join(
        f"""(SELECT d.version FROM deployments d
              WHERE d.team_id = :team_id AND d.service = services.name AND d.environment = :env{i}
                AND d.outcome = 'succeeded' AND d.rolled_back_at IS NULL
              ORDER BY d.id DESC LIMIT 1) AS v{i}"""
        for i in range(environments)
    )
    return text(
        f"""WITH RECURSIVE services(name) AS (
              SELECT min(service) FROM deployments WHERE team_id = :team_id
              UNION ALL
              SELECT (SELECT min(d.service) FROM deployments d WHERE d.team_id = :team_id AND d.service > services.name)
              FROM services WHERE services.name IS NOT NULL
            )
            SELECT services.name, {live} FROM services WHERE services.name IS NOT NULL LIMIT :limit"""
    ).bindparams(bindparam("limit", type_=Integer))


async def live_matrix(*, session: AsyncSession, team_id: str, environments: Sequence[str], limit: int) -> list[LiveRow]:
    """The first `limit` services that were ever deployed (by name), each with its live version per environment."""
    params: dict[str, object] = {"team_id": team_id, "limit": limit}
    params.update({f"env{i}": name for i, name in enumerate(environments)})
    connection = await session.connection()
    rows = await connection.execute(_live_matrix(len(environments)), params)
    return [LiveRow(row[0], tuple(row[1:])) for row in rows.all()]
