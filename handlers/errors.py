"""One error handler: domain errors become the person's ephemeral answer; the rest get an id to quote."""

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.domain.errors import DomainError

log = logging.getLogger(__name__)


async def handle_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None) -> None:
    if isinstance(error, DomainError):
        text = error.message
    else:
        incident = uuid.uuid4().hex[:8]
        log.exception("unhandled error %s for %s", incident, body.get("type") or body.get("command"), exc_info=error)
        text = f"Something went wrong on our side (error id `{incident}`). Nothing was changed; please try again."
    if respond is not None and (body.get("response_url") or body.get("type") == "block_actions"):
        try:
            await respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception:  # the person cannot be told; the log has it
            log.exception("could not deliver the error message")


def register(app: AsyncApp) -> None:
    app.error(handle_error)
