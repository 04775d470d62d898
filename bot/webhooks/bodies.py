"""Request bodies read within bounds, by every route that reads one (Slack's, the webhooks, the gate API).

A body whose `Content-Length` is over the route's limit is refused (413) before a byte of it is read; a chunked
body is read until it passes the limit, then refused the same way; the whole body must arrive within `DEADLINE`
seconds (408), so a slow client cannot hold a handler. A refused request's connection is closed. Refusals are
JSON (`{"ok": false, "error", "message"}`, like `bot/webhooks/errors.py`'s, but raised as aiohttp's own HTTP
errors: Slack's route reads its body here too, outside that middleware) and never logged as errors: they are the
client's to fix.
"""

import asyncio
import json
from collections.abc import Callable
from functools import partial

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot.domain.errors import ErrorCode

OURS = 64 * 1024  # Shipmate's own webhooks and gate checks: a few hundred bytes of JSON
GITHUB = 1024 * 1024  # GitHub's deployment events carry whole repository and user objects
ALERTS = 1024 * 1024  # an alert group: up to a few hundred alerts with their labels and annotations
SLACK = 256 * 1024  # Slack's largest payloads (a modal's view) are far below this
DEADLINE = 10.0  # seconds for the whole body to arrive


def _refusal(exception: Callable[..., web.HTTPClientError], code: ErrorCode, message: str) -> web.HTTPClientError:
    refused = exception(
        text=json.dumps({"ok": False, "error": code, "message": message}), content_type="application/json"
    )
    refused.force_close()  # the rest of the body is not worth reading: the connection ends with this answer
    return refused


def too_large(limit: int) -> web.HTTPClientError:
    message = f"The body is over this endpoint's limit of {limit // 1024} KiB; send a smaller one."
    return _refusal(partial(web.HTTPRequestEntityTooLarge, limit), ErrorCode.BODY_TOO_LARGE, message)


async def read(request: web.Request, *, limit: int, deadline: float | None = None) -> bytes:
    """The raw body, at most `limit` bytes, whole within `deadline` seconds (default `DEADLINE`); raises the JSON
    refusal (413, 408 or 400) otherwise."""
    deadline = DEADLINE if deadline is None else deadline
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    if request.content.is_eof():  # all of it came with the headers (a Slack request does): nothing to wait for
        body = await request.content.read()
        if len(body) > limit:
            raise too_large(limit)
        return body
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(deadline):
            while chunk := await request.content.readany():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        message = f"The body did not arrive within {deadline:g} seconds; send it at once."
        raise _refusal(web.HTTPRequestTimeout, ErrorCode.BODY_TIMEOUT, message) from None
    except (ConnectionError, HttpProcessingError):  # the client went away or broke the framing mid-body
        message = "The body was cut off or badly framed; send it again."
        raise _refusal(web.HTTPBadRequest, ErrorCode.BODY_INCOMPLETE, message) from None
    return b"".join(chunks)
