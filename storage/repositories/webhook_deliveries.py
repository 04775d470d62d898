"""Answered webhook deliveries: the first answer to a delivery id is kept; later ones never replace it."""

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import WebhookDelivery
from storage.types import utcnow


async def get(*, session: AsyncSession, team_id: str, endpoint: str, delivery_id: str) -> WebhookDelivery | None:
    query = select(WebhookDelivery).where(
        WebhookDelivery.team_id == team_id,
        WebhookDelivery.endpoint == endpoint,
        WebhookDelivery.delivery_id == delivery_id,
    )
    return (await session.exec(query)).first()


async def keep_first(
    *,
    session: AsyncSession,
    team_id: str,
    endpoint: str,
    delivery_id: str,
    fingerprint: str,
    status_code: int,
    answer: dict[str, Any],
) -> bool:
    """Store the answer unless this delivery already has one; True when this call stored it."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(WebhookDelivery)
        .values(
            team_id=team_id,
            endpoint=endpoint,
            delivery_id=delivery_id,
            fingerprint=fingerprint,
            status_code=status_code,
            answer=answer,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    result = await session.exec(statement)
    return bool(result.rowcount)
