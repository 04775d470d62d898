"""One error path: domain errors become the person's ephemeral answer; the rest get an id to quote.

Listeners are wrapped by `guarded` rather than left to Bolt's global error handler: an exception raised right
after `ack()` makes Bolt's async runner forget the ack (it answers Slack 404 three seconds later).
"""

import functools
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.domain.errors import DomainError

log = logging.getLogger(__name__)

Listener = Callable[..., Awaitable[Any]]


async def handle_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None) -> None:
    if isinstance(error, DomainError):
        text = error.message
    else:
        incident = uuid.uuid4().hex[:8]
        kind = body.get("type") or body.get("command")
        log.error("unhandled error %s for %s", incident, kind, exc_info=error)
        text = (
            f"Something went wrong on our side (error id `{incident}`). Please try again; if it persists, quote the id."
        )
    if respond is not None and (body.get("response_url") or body.get("type") == "block_actions"):
        try:
            await respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception:  # the person cannot be told; the log has it
            log.exception("could not deliver the error message")


def guarded(listener: Listener) -> Listener:
    """Run `listener`; turn anything it raises into an answer to the person.

    Bolt injects arguments by the names of the listener's own parameters, so a guarded listener must take
    `body` and `respond` itself (checked here, at registration).
    """
    parameters = set(inspect.signature(listener).parameters)
    missing = {"body", "respond"} - parameters
    if missing:
        raise TypeError(f"{listener.__name__} must accept {sorted(missing)} to be guarded")

    @functools.wraps(listener)
    async def wrapper(**kwargs: Any) -> Any:
        try:
            return await listener(**kwargs)
        except Exception as error:  # answered and logged; never re-raised into Bolt
            await handle_error(error, kwargs.get("body") or {}, kwargs.get("respond"))
            return None

    return wrapper


async def _global_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None) -> None:
    await handle_error(error, body, respond)


def register(app: AsyncApp) -> None:
    app.error(_global_error)
