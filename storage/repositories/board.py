"""What the web board reads that no other surface does: the newest deployments and rollbacks of a workspace, as
plain rows, each query walking an index from its newest end (`ix_deployments_team_id`,
`ix_deployments_team_rolled_back`) and stopping at its limit, whatever the history."""

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import BindParameter, Integer, bindparam
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
