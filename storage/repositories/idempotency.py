"""Keys seen once already (Slack `event_id`, CI `delivery_id`): the first insert wins, the rest are no-ops."""

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent
from storage.types import utcnow


async def first_time(*, session: AsyncSession, team_id: str, key: str) -> bool:
    """Record `key`; True only for the transaction that recorded it first."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ProcessedEvent).values(team_id=team_id, key=key, created_at=utcnow()).on_conflict_do_nothing()
    result = await session.exec(statement)
    return bool(result.rowcount)
