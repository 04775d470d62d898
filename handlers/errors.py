"""One error handler: domain errors become the person's ephemeral answer; the rest get an id to quote."""

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_bolt.response import BoltResponse

from bot import incidents
from bot.domain.errors import DomainError
from bot.in_flight import InFlight
from bot.metrics import LISTENER, Metrics, surface
from bot.services.kernel.context import ServiceContext
from bot.slack_text import mrkdwn
from handlers import lock_surface
from handlers.answering import BudgetedAck, first_input_block, kind_of, within_budget

log = logging.getLogger(__name__)

# In a crowded process, a person's write waits at most this share of the ack budget for its turn at the writer
# (SQLite), then is answered "busy": under a flood the answer stays inside the budget instead of queueing behind
# every other write.
WRITE_WAIT_SHARE = 0.5


def describe(error: Exception, body: dict[str, Any]) -> str:
    """What the person reads: a domain error's own words, or an id to quote for anything unexpected (logged)."""
    if isinstance(error, DomainError):
        return mrkdwn(error.text)
    # The one record of this error, with the id the person quotes (and the request's context fields).
    incident = incidents.record(log, error, "unhandled error for %s", body.get("type") or body.get("command"))
    return f"Something went wrong on our side (error id `{incident}`). Nothing was changed; please try again."


async def handle_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None) -> None:
    text = describe(error, body)
    if respond is not None and (body.get("response_url") or body.get("type") == "block_actions"):
        try:
            blocks = lock_surface.queue_blocks(error, text)
            await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        except Exception:  # the person cannot be told; the log has it
            log.exception("could not deliver the error message")


async def _before_the_ack(error: Exception, args: AsyncArgs, ack: BudgetedAck) -> None:
    """The listener failed while Slack still waits: answer in the ack where the surface shows it."""
    kind = kind_of(args.body)
    if kind == "command":
        text = describe(error, args.body)
        await ack(text=text, blocks=lock_surface.queue_blocks(error, text), response_type="ephemeral")
    elif kind == "view_submission" and (block := first_input_block(args.body)):
        await ack(response_action="errors", errors={block: describe(error, args.body)})
    elif kind == "event_callback":  # a 500 makes Slack deliver the event again
        describe(error, args.body)
        args.ack.response = BoltResponse(status=500, body="")
    else:  # a click: Slack ignores the ack's body, the answer goes to response_url
        await ack()
        await handle_error(error, args.body, args.respond)


Listener = Callable[..., Awaitable[None]]


def answered(listener: Listener) -> Listener:
    """Every listener is registered through this: it runs under the ack budget (`handlers/answering.py`), counted
    in flight, and whatever it raises reaches the person, in the ack when Slack still waits, else ephemerally."""
    names = list(inspect.signature(listener).parameters)

    async def run(args: AsyncArgs) -> None:
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        respond = args.respond if kind_of(args.body) == "command" else None
        ack = BudgetedAck(args.ack, respond, answered)
        kwargs = {name: getattr(args, name) if hasattr(args, name) else args.context[name] for name in names}
        if "ack" in kwargs:
            kwargs["ack"] = ack

        services: ServiceContext = args.context["services"]
        budget: float = args.context["ack_budget"]
        in_flight: InFlight = args.context["in_flight"]
        metrics: Metrics | None = args.context.get("metrics")
        args.context[LISTENER] = True  # this listener counts the request's outcome, not the ack
        # A crowded process (half the cap or more): a write that cannot start soon answers "busy" instead of queueing.
        wait = budget * WRITE_WAIT_SHARE if in_flight.crowded else None

        async def work() -> None:
            outcome = "ok"
            try:
                with services.writes_wait_at_most(wait):
                    await listener(**kwargs)
            except Exception as error:
                outcome = "refused" if isinstance(error, DomainError) else "error"
                if ack.sent:
                    await handle_error(error, args.body, args.respond)
                else:
                    await _before_the_ack(error, args, ack)
            finally:
                if metrics is not None:
                    metrics.answered(surface(args.body), args.context, outcome)

        task = in_flight.spawn(work(), name=f"listener {run.__name__}", key=args.context.team_id)
        await within_budget(task, answered, args.ack, args.body, budget)

    run.__name__ = run.__qualname__ = getattr(listener, "__name__", "listener")
    return run


def register(app: AsyncApp) -> None:
    app.error(handle_error)
