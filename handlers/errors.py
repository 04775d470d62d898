"""One error handler: domain errors become the person's ephemeral answer; the rest get an id to quote."""

import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.kwargs_injection.async_args import AsyncArgs

from bot.domain.errors import DomainError
from bot.in_flight import InFlight
from bot.metrics import LISTENER, Metrics, surface

log = logging.getLogger(__name__)


async def handle_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None) -> None:
    if isinstance(error, DomainError):
        text = error.mrkdwn
    else:
        incident = uuid.uuid4().hex[:8]
        # The one record of this error, with the id the person quotes (and the request's context fields).
        kind = body.get("type") or body.get("command")
        log.error("unhandled error %s for %s", incident, kind, exc_info=error, extra={"error_id": incident})
        text = f"Something went wrong on our side (error id `{incident}`). Nothing was changed; please try again."
    if respond is not None and (body.get("response_url") or body.get("type") == "block_actions"):
        try:
            await respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception:  # the person cannot be told; the log has it
            log.exception("could not deliver the error message")


Listener = Callable[..., Awaitable[None]]


def answered(listener: Listener) -> Listener:
    """Errors raised after the ack are answered here, by `handle_error`, not by Bolt: slack-bolt's runner resets
    a recorded ack when the listener then raises, so a quick refusal would reach Slack as a 404 after 3 s."""
    names = list(inspect.signature(listener).parameters)

    async def run(args: AsyncArgs) -> None:
        kwargs = {name: getattr(args, name) if hasattr(args, name) else args.context[name] for name in names}
        in_flight: InFlight = args.context["in_flight"]
        metrics: Metrics | None = args.context.get("metrics")
        args.context[LISTENER] = True  # this listener counts the request's outcome, not the ack
        outcome = "ok"
        with in_flight.tracking():
            try:
                await listener(**kwargs)
            except Exception as error:
                outcome = "refused" if isinstance(error, DomainError) else "error"
                if args.ack.response is None:  # not acked yet: Bolt's own path answers Slack
                    raise
                await handle_error(error, args.body, args.respond)
            finally:
                if metrics is not None:
                    metrics.answered(surface(args.body), args.context, outcome)

    run.__name__ = run.__qualname__ = getattr(listener, "__name__", "listener")
    return run


def register(app: AsyncApp) -> None:
    app.error(handle_error)
