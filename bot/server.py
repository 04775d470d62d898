"""The aiohttp application: Slack events, health, and the app's own HTTP endpoints. Built by `create_app`."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import ics_feed
from bot.domain.policy import Policy, load_policy
from bot.in_flight import InFlight
from bot.notify.directory import SlackDirectory
from bot.notify.dispatcher import Dispatcher
from bot.scheduler import Scheduler
from bot.services.context import ServiceContext
from bot.settings import Settings
from bot.slack_app import build_bolt_app, web_client
from bot.webhooks import ci as ci_hook
from storage.db import Database

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024  # Slack's largest payloads are far below this; bigger bodies are refused unread

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", ServiceContext)
BOLT = web.AppKey("bolt", AsyncApp)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
CLIENT = web.AppKey("client", AsyncWebClient)


class Runtime:
    """What a process owns: database, Slack client, services, dispatcher; opened and closed together."""

    def __init__(self, settings: Settings, policy: Policy | None = None) -> None:
        self.settings = settings
        self.policy = policy or load_policy(settings.shipmate_policy)
        self.db = Database(settings.database_url)
        self.client = web_client(settings)
        self.dispatcher = Dispatcher(
            self.db,
            self.client,
            lease=timedelta(seconds=settings.shipmate_claim_lease),
            poll_interval=settings.shipmate_poll_interval,
        )
        self.services = ServiceContext(
            db=self.db,
            policy=self.policy,
            settings=settings,
            directory=SlackDirectory(self.client),
            kick=self.dispatcher.kick,
        )
        self.in_flight = InFlight(capacity=settings.shipmate_max_in_flight)
        self.bolt = build_bolt_app(settings, self.services, self.client, self.in_flight)
        self.scheduler = Scheduler(self.services, poll_interval=settings.shipmate_poll_interval)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        # One connection pool for every Slack call and answer (slack_sdk opens a session per call without it).
        self.client.session = aiohttp.ClientSession()
        self.in_flight.watch()
        self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="outbox-dispatcher"))
        await self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.in_flight.unwatch()
        with contextlib.suppress(TimeoutError):  # work that goes on after the ack finishes before the engine closes
            async with asyncio.timeout(10):
                await self.in_flight.drain()
        self.dispatcher.stop()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=self.settings.shipmate_slack_timeout + 5)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        await self.db.dispose()
        if self.client.session is not None:
            await self.client.session.close()


async def slack_events(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY:  # refused unread
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    if not request.headers.get("X-Slack-Request-Timestamp", "0").isdigit():  # slack_sdk would raise: a 500
        return web.json_response({"error": "invalid request"}, status=401)
    try:  # Bolt parses before it verifies: a body that is not UTF-8 or not a JSON object must not crash it
        bolt_request = await to_bolt_request(request)
        if not isinstance(bolt_request.body, dict):
            raise ValueError("the body is not an object")
    except (ValueError, TypeError, AttributeError):
        return web.json_response({"error": "invalid request"}, status=400)
    bolt_response = await request.app[BOLT].async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await asyncio.wait_for(request.app[SERVICES].db.ping(), timeout=3)
    except Exception as exc:  # any failure means "not ready"; say which
        return web.json_response({"status": "unavailable", "database": type(exc).__name__}, status=503)
    return web.json_response({"status": "ready", "database": "ok"})


def create_app(settings: Settings, policy: Policy | None = None) -> web.Application:
    """One aiohttp application per process; the runtime opens in `cleanup_ctx` and closes on shutdown."""
    app = web.Application(client_max_size=MAX_BODY)
    runtime = Runtime(settings, policy)
    app[SETTINGS] = settings
    app[SERVICES] = runtime.services
    app[BOLT] = runtime.bolt
    app[DISPATCHER] = runtime.dispatcher
    app[CLIENT] = runtime.client

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await runtime.start()
        yield
        await runtime.stop()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/slack/events", slack_events)
    app.router.add_post("/hooks/deployments", ci_hook.handler(runtime.services))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/calendar.ics", ics_feed.handler(runtime.services))
    return app
