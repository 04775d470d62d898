"""When a listener answers Slack: within a time budget, in the ack itself; past it, after the ack; past the cap on
work in flight, "busy" at once.

Bolt runs listeners inline (`process_before_response`), so the HTTP answer goes out when the listener lets it.
`errors.answered` runs each listener as its own task (counted in `InFlight`) and hands Slack the ack as soon as
the listener acks, ends, or runs out of the budget; whatever the listener does after that goes on in its task.
- A slash command acks with its answer when the answer is ready in time; past the budget the ack says "Working on
  it…" and the answer (one answer either way) goes to `response_url`.
- A button does its work before the ack under the same budget (Slack ignores the ack's body), then answers on
  `response_url`, by updating the message or in the App Home.
- A modal submission answers in the ack (`response_action`), with no budget: its errors can only go there.
- An event is acked when its work ends or the budget runs out; work that fails in time is answered 500, so Slack
  delivers the event again (handling is idempotent on `event_id` where it changes state).
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.domain.errors import ErrorCode
from bot.in_flight import InFlight

log = logging.getLogger(__name__)

WORKING = "Working on it…"
BUSY = "Shipmate is busy, try again in a few seconds. Nothing was changed."
BUSY_LOG_EVERY = 5.0  # seconds between "busy" warnings: a flood must not also flood the log


def kind_of(body: dict[str, Any]) -> str:
    """`command`, `block_actions`, `view_submission`, `event_callback`, …: what Slack sent, as the budget sees it."""
    return "command" if body.get("command") else str(body.get("type") or "unknown")


class BudgetedAck(AsyncAck):
    """The listener's `ack`. While Slack still waits, it is the real ack; once the budget has answered for the
    listener, a slash command's answer goes to `response_url` instead (once), and anything else is a no-op."""

    def __init__(self, ack: AsyncAck, respond: AsyncRespond | None, answered: "asyncio.Future[None]") -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._ack = ack
        self._respond = respond
        self._answered = answered

    async def __call__(self, text: str | dict[str, Any] = "", **fields: Any) -> BoltResponse:  # type: ignore[override]
        if self._ack.response is None:
            self.response = await self._ack(text, **fields)
            settle(self._answered)
            return self.response
        message = dict(text) if isinstance(text, dict) else {"text": text, "blocks": fields.get("blocks")}
        if self._respond is not None and (message.get("text") or message.get("blocks")):
            await self._respond(**message, response_type="ephemeral", replace_original=False)
        return self._ack.response

    @property
    def sent(self) -> bool:
        return self._ack.response is not None


def settle(answered: "asyncio.Future[None]", *_: Any) -> None:
    """The first of: the listener acked, it ended, the budget ran out."""
    if not answered.done():
        answered.set_result(None)


async def within_budget(
    task: "asyncio.Task[None]", answered: "asyncio.Future[None]", ack: AsyncAck, body: dict[str, Any], budget: float
) -> None:
    """Return to Bolt (which then sends the ack) once the listener acked or ended, or the budget ran out. One
    future settled by whichever comes first: no task to watch the ack, nothing to cancel afterwards."""
    kind = kind_of(body)
    task.add_done_callback(partial(settle, answered))
    timer = None if kind == "view_submission" else asyncio.get_running_loop().call_later(budget, settle, answered)
    try:
        await answered  # cancelling the dispatch cancels only this future: the listener's task goes on
    finally:
        if timer is not None:
            timer.cancel()
    if ack.response is not None or kind == "event_callback":
        return  # acked in time, or an event (Bolt acks it when this returns)
    # Nothing awaited since the wait: the listener cannot ack in between, so Slack gets exactly one ack.
    if kind == "command" and not task.done():
        await ack(text=WORKING, response_type="ephemeral")
    else:
        await ack()


def busy_answer(body: dict[str, Any]) -> BoltResponse:
    """What a request past the cap gets, in the shape its surface shows a person."""
    kind = kind_of(body)
    if kind == "command":
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": BUSY})
    if kind == "view_submission":
        block = first_input_block(body)
        if block:
            return BoltResponse(status=200, body={"response_action": "errors", "errors": {block: BUSY}})
        return BoltResponse(status=200, body="")
    if kind == "event_callback":  # Slack delivers the event again later: nothing is lost
        return BoltResponse(status=503, body={"error": ErrorCode.BUSY}, headers={"Retry-After": "5"})
    return BoltResponse(status=200, body="")


def first_input_block(body: dict[str, Any]) -> str | None:
    """The modal's first input block, where Slack can show a message under the field."""
    blocks = (body.get("view") or {}).get("blocks") or []
    return next((str(b["block_id"]) for b in blocks if b.get("type") == "input" and b.get("block_id")), None)


class Admission(AsyncMiddleware):
    """The global middleware in front of every listener: past the cap, answer "busy" and change nothing.
    Class-based: Bolt calls it with the request as it is, without building every listener argument for it."""

    def __init__(self, in_flight: InFlight) -> None:
        self.in_flight = in_flight
        self.refused = 0
        self._logged_at = 0.0

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        if not self.in_flight.full_for(req.context.team_id):
            await next()
            return None
        return await self.refuse(req.body, req.context)

    async def refuse(self, body: dict[str, Any], context: AsyncBoltContext) -> BoltResponse:
        self.refused += 1
        now = time.monotonic()
        if now - self._logged_at > BUSY_LOG_EVERY:
            self._logged_at = now
            log.warning(
                "busy: %s requests in flight (the cap); %s told to retry so far", len(self.in_flight), self.refused
            )
        answer = busy_answer(body)
        respond = context.get("respond")
        if kind_of(body) == "block_actions" and respond is not None:  # Slack ignores the ack body of a click
            try:
                async with asyncio.timeout(2):
                    await respond(text=BUSY, response_type="ephemeral", replace_original=False)
            except Exception:  # the click changed nothing either way
                log.warning("could not tell a clicker that Shipmate is busy", exc_info=True)
        return answer
