"""Signed deliveries from other systems (CI today) are answered once: the first answer to a delivery id is kept
with it, whatever it was, and a repeat gets that answer again without being processed. A delivery refused by the
gates therefore stays refused, even when replayed after the gates would pass.

A change and the answer that reports it are written in one transaction (`keep`); a refusal, which changes
nothing, is kept on its own (`remember`). Only "try again later" answers (5xx) are not kept.
"""

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.kernel.context import ServiceContext
from storage.repositories import webhook_deliveries


@dataclass(frozen=True)
class Delivery:
    team_id: str
    endpoint: str  # which webhook: "deployments"
    delivery_id: str
    fingerprint: str  # of what was delivered: the same id with a different body is not a repeat

    @staticmethod
    def fingerprint_of(canonical: bytes) -> str:
        return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class Receipt:
    """An answer as sent: HTTP status and JSON body."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Seen:
    receipt: Receipt
    same_body: bool


async def seen(ctx: ServiceContext, delivery: Delivery) -> Seen | None:
    """The answer this delivery id already got, if any."""
    async with ctx.db.read() as session:
        row = await webhook_deliveries.get(
            session=session, team_id=delivery.team_id, endpoint=delivery.endpoint, delivery_id=delivery.delivery_id
        )
    if row is None:
        return None
    return Seen(Receipt(row.status_code, dict(row.answer)), same_body=row.fingerprint == delivery.fingerprint)


async def keep(session: AsyncSession, delivery: Delivery, receipt: Receipt) -> None:
    """Keep the answer in the caller's transaction, with the change it reports."""
    await webhook_deliveries.keep_first(
        session=session,
        team_id=delivery.team_id,
        endpoint=delivery.endpoint,
        delivery_id=delivery.delivery_id,
        fingerprint=delivery.fingerprint,
        status_code=receipt.status,
        answer=receipt.body,
    )


async def remember(ctx: ServiceContext, delivery: Delivery, receipt: Receipt) -> Receipt:
    """Keep an answer that changed nothing; returns the answer that stands (a concurrent twin's, if it was first)."""
    if receipt.status >= 500:
        return receipt
    async with ctx.db.transaction() as session:
        await keep(session, delivery, receipt)
        row = await webhook_deliveries.get(
            session=session, team_id=delivery.team_id, endpoint=delivery.endpoint, delivery_id=delivery.delivery_id
        )
    assert row is not None
    return Receipt(row.status_code, dict(row.answer))
