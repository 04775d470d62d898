"""The reference: a bare Bolt AsyncApp on aiohttp whose /release handler only acks (`python -m bench.reference`).

Asked `deliver <n>`, it also sends `n` Slack messages after the ack, each a `chat.postMessage` of about the size of
Shipmate's through slack_sdk's `api_call` on one pooled session, from a task of its own (as Shipmate's outbox
dispatcher sends what a write owes): a yardstick for what a write costs beyond the messages it must send.

Started with `REFERENCE_DATABASE_URL` and asked `floor <approve|propose> <n>`, it first runs the floor of that write's
transaction on that database before its ack (`bench/floor.py`), then sends `n` messages as `deliver <n>` does: the
part of a write's line that any implementation owes its database and Slack."""

import argparse
import asyncio
import json
import logging
import os
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench import floor

ASKED = re.compile(r"^(deliver|floor approve|floor propose) (\d{1,2})$")  # what to do, and messages to send
# About 600 bytes as JSON: between a thread line (about 200) and a release card (about 1,100), as an approval's
# messages average.
MESSAGE: dict[str, Any] = {
    "channel": "C0REFERENCE",
    "text": "Reference message: a line of news about a release, as a write owes one",
    "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Reference* approved for *prod* (1/2) · waiting"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Service*\nreference"},
                {"type": "mrkdwn", "text": "*Version*\n1.2.3"},
                {"type": "mrkdwn", "text": "*Risk*\nmedium"},
                {"type": "mrkdwn", "text": "*Status*\nproposed"},
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Proposed by <@U0REFERENCE> · 2 approvals"}]},
    ],
}


def build() -> web.Application:
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    bolt = AsyncApp(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client)
    sending: set[asyncio.Task[None]] = set()
    database: dict[str, floor.Write] = {}

    async def deliver(count: int) -> None:
        for _ in range(count):
            await client.api_call("chat.postMessage", json=MESSAGE)

    @bolt.command("/release")
    async def release(ack: AsyncAck, command: dict[str, Any]) -> None:
        asked = ASKED.match(command.get("text", ""))
        if asked and asked.group(1) != "deliver":
            await database["write"](asked.group(1).split()[1], int(asked.group(2)))
        if asked:
            task = asyncio.get_running_loop().create_task(deliver(int(asked.group(2))))
            sending.add(task)
            task.add_done_callback(sending.discard)
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def session(_app: web.Application) -> AsyncIterator[None]:
        client.session = aiohttp.ClientSession()  # pooled, as Shipmate's client (without it, one per call)
        url = os.environ.get("REFERENCE_DATABASE_URL")
        close = None
        if url:
            database["write"], close = await floor.open_writer(url, json.dumps(MESSAGE))
        yield
        await client.session.close()
        if close is not None:
            await close()

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(session)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    logging.basicConfig(level=logging.WARNING)
    web.run_app(build(), port=parser.parse_args().port, print=None)


if __name__ == "__main__":
    main()
