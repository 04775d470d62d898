"""Signed deliveries are answered once, at the HTTP edge: the first answer to a `delivery_id` is kept with it, and a
repeat (replayed, or signed afresh) gets that same answer again with `X-Shipmate-Replayed: true`, unprocessed; the
same id with another body is refused. Used by `/hooks/deployments` and `/api/v1/gate`."""

from aiohttp import web

from bot.services.kernel.context import ServiceContext
from bot.services.pipeline import deliveries
from bot.services.pipeline.deliveries import Delivery, Receipt
from bot.webhooks.errors import DeliveryIdReused

REPLAYED_HEADER = "X-Shipmate-Replayed"


def send(receipt: Receipt, *, replayed: bool = False) -> web.Response:
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    return web.json_response(receipt.body, status=receipt.status, headers=headers)


async def repeat_of(ctx: ServiceContext, delivery: Delivery, *, what: str) -> web.Response | None:
    """The answer this delivery got the first time, sent again; None for a new delivery. `what` names what each
    delivery stands for, in the refusal of an id reused for another body ("delivery", "check")."""
    first = await deliveries.seen(ctx, delivery)
    if first is None:
        return None
    if not first.same_body:
        raise DeliveryIdReused(
            "Delivery {id} was already used for another body; give each {what} its own id.",
            id=delivery.delivery_id,
            what=what,
        )
    return send(first.receipt, replayed=True)


async def standing(ctx: ServiceContext, delivery: Delivery, receipt: Receipt) -> web.Response:
    """Keep `receipt` as this delivery's answer (unless a concurrent twin's came first) and send the one that stands."""
    kept = await deliveries.remember(ctx, delivery, receipt)
    return send(kept, replayed=kept != receipt)
