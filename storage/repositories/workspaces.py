"""Which enterprise (Enterprise Grid organisation) a workspace belongs to, as Slack's requests say."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models.installations import slack_workspaces
from storage.types import utcnow


def upsert(dialect: str, *, team_id: str, enterprise_id: str | None) -> Any:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(slack_workspaces).values(team_id=team_id, enterprise_id=enterprise_id, seen_at=utcnow())
    return statement.on_conflict_do_update(
        index_elements=["team_id"], set_={"enterprise_id": enterprise_id, "seen_at": utcnow()}
    )


async def remember(*, session: AsyncSession, team_id: str, enterprise_id: str | None) -> None:
    await session.exec(upsert(session.get_bind().dialect.name, team_id=team_id, enterprise_id=enterprise_id))


async def enterprise_of(*, session: AsyncSession, team_id: str) -> tuple[bool, str | None]:
    """(known, enterprise_id): whether Slack has spoken for this workspace, and its enterprise if it has one."""
    row = (
        await session.exec(select(slack_workspaces.c.enterprise_id).where(slack_workspaces.c.team_id == team_id))  # type: ignore[call-overload]
    ).first()
    return (row is not None, row[0] if row is not None else None)


async def of_enterprise(*, session: AsyncSession, enterprise_id: str) -> list[str]:
    rows = await session.exec(
        select(slack_workspaces.c.team_id).where(slack_workspaces.c.enterprise_id == enterprise_id)  # type: ignore[call-overload]
    )
    return sorted(str(row[0]) for row in rows)


async def enterprises(*, session: AsyncSession) -> dict[str, str]:
    """Every workspace known to belong to an organisation: team id → enterprise id."""
    rows = await session.exec(
        select(slack_workspaces.c.team_id, slack_workspaces.c.enterprise_id).where(  # type: ignore[call-overload]
            slack_workspaces.c.enterprise_id.is_not(None)
        )
    )
    return {str(team): str(enterprise) for team, enterprise in rows}
