"""The aiohttp application: Slack events, health, and the app's own HTTP endpoints. Built by `create_app`.

HTTP mode serves Slack at `POST /slack/events`. Socket Mode takes Slack's requests over the WebSocket that
slack_bolt's adapter keeps open, and `/slack/events` is not served at all: health, the CI webhook and the
calendar feed are the only HTTP surfaces left.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot import ics_feed, metrics
from bot.domain.policy import Deployer, Policy
from bot.domain.policy_book import PolicyBook
from bot.domain.validation import is_number
from bot.in_flight import InFlight
from bot.manifest import REDIRECT_PATH
from bot.metrics import Metrics
from bot.notify.directory import SlackDirectory
from bot.notify.dispatcher import Dispatcher
from bot.notify.files import SlackFiles
from bot.notify.github_api import GitHubReader
from bot.notify.installation import Installation
from bot.notify.pipeline_client import PipelineClient
from bot.notify.pipeline_sender import PipelineSender
from bot.notify.slack_clients import SlackClients
from bot.notify.slack_sender import SlackSender
from bot.policy_dir import Policies, load
from bot.scheduler import Scheduler
from bot.services.kernel.context import ServiceContext
from bot.services.metrics import metrics_digest
from bot.services.pipeline.gate_waits import GateWaits
from bot.settings import Settings
from bot.slack_app import INSTALL_PATH, Mode, build_bolt_app, web_client
from bot.web import pages as web_pages
from bot.webhooks import alerts as alerts_hook
from bot.webhooks import bodies
from bot.webhooks import ci as ci_hook
from bot.webhooks import errors as webhook_errors
from bot.webhooks import gate as gate_hook
from bot.webhooks import github as github_hook
from storage.db import Database
from storage.installation_store import SealedInstallationStore
from storage.repositories import workspaces
from storage.token_cipher import TokenCipher

log = logging.getLogger(__name__)

MAX_BODY = bodies.SLACK

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", ServiceContext)
BOLT = web.AppKey("bolt", AsyncApp)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
GATE_WAITS = web.AppKey("gate_waits", GateWaits)
CLIENT = web.AppKey("client", AsyncWebClient)


def slack_access(
    settings: Settings, db: Database, client: AsyncWebClient
) -> tuple[SealedInstallationStore | None, SlackClients]:
    """The installation store (many workspaces only) and the clients every send to Slack goes through: the one
    bot token's, or each workspace's token from the store."""
    store = (
        SealedInstallationStore(
            client_id=settings.slack_client_id, db=db, cipher=TokenCipher(settings.shipmate_encryption_key)
        )
        if settings.many_workspaces
        else None
    )
    clients = SlackClients(
        client,
        db=db,
        store=store,
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        rotation_minutes=settings.shipmate_token_rotation_minutes,
    )
    return store, clients


def policies_of(settings: Settings, policy: Policy | PolicyBook | None) -> Policies:
    """Given a policy (tests, tools), it stays. Read from the settings (`shipmate run` reads them first, to refuse a
    bad policy before anything starts), SIGHUP reads them again."""
    if isinstance(policy, Policy):
        return Policies(PolicyBook(policy, {}, "given"), None)
    return Policies(policy if policy is not None else load(settings), settings)


def in_flight_of(settings: Settings) -> InFlight:
    """The cap on work in flight; with many workspaces, one workspace may take three quarters of it at most."""
    cap = settings.shipmate_max_in_flight
    share = max(1, cap * 3 // 4) if settings.many_workspaces else None
    return InFlight(capacity=cap, max_lag=settings.shipmate_max_loop_lag, share=share)


class Runtime:
    """What a process owns: database, Slack client, services, dispatcher; opened and closed together."""

    def __init__(self, settings: Settings, policy: Policy | PolicyBook | None = None, *, mode: Mode = "http") -> None:
        self.settings = settings
        self.mode = mode
        self.policies = policies_of(settings, policy)
        self.policy = self.policies.default
        self.db = Database(settings.database_url)
        self.metrics = Metrics(self.db)
        self.client = web_client(settings, observer=metrics.SlackApiObserver(self.metrics))
        self.store, self.clients = slack_access(settings, self.db, self.client)
        self.installation = Installation(self.client, self.clients)
        self.github = GitHubReader(
            settings.shipmate_github_api_url, settings.shipmate_github_token, timeout=settings.shipmate_pipeline_timeout
        )
        self.pipeline = PipelineClient(settings, timeout=settings.shipmate_pipeline_timeout)
        self.dispatcher, self.pipeline_dispatcher = self._dispatchers(settings)
        self.services = ServiceContext(
            db=self.db,
            policy=self.policy,
            settings=settings,
            directory=SlackDirectory(self.clients),
            files=SlackFiles(self.clients),
            code=self.github,
            tokens=self.clients,
            policies=self.policies if settings.shipmate_policy_dir is not None else None,
        )
        self.in_flight = in_flight_of(settings)
        self.bolt = build_bolt_app(
            settings, self.services, self.client, self.in_flight, mode=mode, metrics=self.metrics, store=self.store
        )
        self.scheduler = Scheduler(
            self.services,
            poll_interval=settings.shipmate_poll_interval,
            observer=self.metrics,
            shutdown_timeout=settings.shipmate_shutdown_timeout,
        )
        self.draining = False
        self.gate_waits = GateWaits(
            self.services,
            poll_interval=max(1.0, settings.shipmate_poll_interval),
            max_waiters=settings.shipmate_max_gate_waiters,
            max_per_release=settings.shipmate_max_gate_waiters_per_release,
        )
        self._tasks: list[asyncio.Task[None]] = []

    def _dispatchers(self, settings: Settings) -> tuple[Dispatcher, Dispatcher]:
        """Slack's loop and the pipeline's: a deployer that hangs delays other pipeline requests, never a Slack
        message. A commit that enqueued messages wakes the loop that sends them."""
        lease, every = timedelta(seconds=settings.shipmate_claim_lease), settings.shipmate_poll_interval
        slack = SlackSender(self.db, self.clients)
        pipeline = PipelineSender(self.db, self.pipeline, self._deployer)
        loops = (
            Dispatcher(self.db, slack, lease=lease, poll_interval=every, observer=self.metrics),
            Dispatcher(self.db, pipeline, lease=lease, poll_interval=every, batch=10, observer=self.metrics),
        )
        for loop in loops:
            self.db.on_enqueued(loop.kick)
        return loops

    def reload_policies(self) -> None:
        """SIGHUP: the policies are read again; a bad file keeps those in force."""
        if self.policies.reload():
            self.policy = self.services.policy = self.policies.default

    def _deployer(self, team_id: str, service: str) -> Deployer | None:
        return self.services.for_team(team_id).policy.deployer(service)

    async def start(self) -> None:
        # One connection pool for every Slack call and answer (slack_sdk opens a session per call without it).
        self.client.session = aiohttp.ClientSession()
        self.in_flight.watch()
        await self.pipeline.start()
        await self.github.start()
        await self.gate_waits.start()
        self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="outbox-dispatcher"))
        self._tasks.append(asyncio.create_task(self.pipeline_dispatcher.run(), name="pipeline-dispatcher"))
        self._tasks.append(asyncio.create_task(self._plan_digests(), name="plan-digests"))
        if self.store is not None:
            async with self.db.read() as session:  # for `<enterprise_id>.toml`: which organisation each one is in
                self.policies.enterprises.update(await workspaces.enterprises(session=session))
        await self.scheduler.start()

    def begin_drain(self) -> None:
        """The hand-over (SIGTERM, or any stop): /readyz says 503, and outbox messages and jobs are left to the
        other processes; what this one claimed and has not started goes back at once."""
        if self.draining:
            return
        self.draining = True
        log.info("draining: /readyz answers 503; other processes take over the outbox and scheduled jobs")
        self.dispatcher.stop()
        self.pipeline_dispatcher.stop()
        self.scheduler.stop_claiming()

    async def _plan_digests(self) -> None:
        try:
            await metrics_digest.plan_all(self.services)
        except Exception:  # the database may still be starting; the next proposal plans it too
            log.exception("could not plan the weekly delivery digests")

    async def stop(self) -> None:
        self.begin_drain()
        timeout = self.settings.shipmate_shutdown_timeout
        await self.gate_waits.stop()
        await self.scheduler.stop()
        await self.in_flight.unwatch()
        with contextlib.suppress(TimeoutError):  # work that goes on after the ack finishes before the engine closes
            async with asyncio.timeout(timeout):
                await self.in_flight.drain()
        await self.dispatcher.stopped()
        await self.pipeline_dispatcher.stopped()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=self.settings.shipmate_slack_timeout + 5)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        await self.db.dispose()
        await self.pipeline.close()
        await self.github.close()
        if self.client.session is not None:
            await self.client.session.close()


RUNTIME = web.AppKey("runtime", Runtime)


async def slack_events(request: web.Request) -> web.Response:
    body = await bodies.read(request, limit=MAX_BODY)
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "0")
    signature = request.headers.get("X-Slack-Signature", "")
    if not is_number(timestamp) or not signature.isascii():  # slack_sdk would raise on either: a 500
        return web.json_response({"error": "invalid request"}, status=401)
    try:  # Bolt parses before it verifies: a body that is not UTF-8 or not a JSON object must not crash it
        bolt_request = AsyncBoltRequest(
            body=body.decode("utf-8"),
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]  # a mapping of str, as Bolt's own adapter passes
        )
        if not isinstance(bolt_request.body, dict):
            raise ValueError("the body is not an object")
    except (ValueError, TypeError, AttributeError):
        return web.json_response({"error": "invalid request"}, status=400)
    bolt_response = await request.app[BOLT].async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


async def oauth_install(request: web.Request) -> web.Response:
    """GET /slack/install: Bolt's OAuth flow issues a `state` (cookie and database) and sends the person to
    Slack's consent page."""
    flow = request.app[BOLT].oauth_flow
    assert flow is not None
    bolt_request = AsyncBoltRequest(body="", query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
    return await to_aiohttp_response(await flow.handle_installation(bolt_request))


async def oauth_redirect(request: web.Request) -> web.Response:
    """GET /slack/oauth_redirect: Slack comes back with a code; Bolt checks the state, exchanges the code
    (`oauth.v2.access`) and saves the installation in the store."""
    flow = request.app[BOLT].oauth_flow
    assert flow is not None
    bolt_request = AsyncBoltRequest(body="", query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
    return await to_aiohttp_response(await flow.handle_callback(bolt_request))


class _MalformedRequests(logging.Filter):
    """aiohttp answers a request it cannot parse (bytes no request line or header allows) 400 itself, and logs it as
    an ERROR with a traceback: the client's mistake becomes one INFO line, without the request line (it may hold a
    calendar token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        refused = record.exc_info[1] if record.exc_info else None
        if isinstance(refused, HttpProcessingError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "refused a malformed request: %s (%s)", (type(refused).__name__, refused.code)
            record.exc_info, record.exc_text = None, None
        return True


def _quiet_malformed_requests() -> None:
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(existing, _MalformedRequests) for existing in server_log.filters):
        server_log.addFilter(_MalformedRequests())


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    if request.app[RUNTIME].draining:  # stopping: load balancers send new requests elsewhere
        return web.json_response({"status": "draining"}, status=503)
    try:
        await asyncio.wait_for(request.app[SERVICES].db.ping(), timeout=3)
    except Exception as exc:  # any failure means "not ready"; say which
        return web.json_response({"status": "unavailable", "database": type(exc).__name__}, status=503)
    return web.json_response({"status": "ready", "database": "ok"})


async def socket_link(runtime: Runtime) -> AsyncIterator[None]:
    """Socket Mode: connect after the runtime is up (answers need its HTTP session), disconnect before it stops."""
    handler = AsyncSocketModeHandler(runtime.bolt, runtime.settings.slack_app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    yield
    await handler.close_async()  # type: ignore[no-untyped-call]


def create_app(
    settings: Settings, policy: Policy | PolicyBook | None = None, *, mode: Mode = "http"
) -> web.Application:
    """One aiohttp application per process; the runtime opens in `cleanup_ctx` and closes on shutdown."""
    _quiet_malformed_requests()
    app = web.Application(client_max_size=MAX_BODY, middlewares=[webhook_errors.middleware])
    runtime = Runtime(settings, policy, mode=mode)
    app[SETTINGS] = settings
    app[SERVICES] = runtime.services
    app[BOLT] = runtime.bolt
    app[DISPATCHER] = runtime.dispatcher
    app[GATE_WAITS] = runtime.gate_waits
    app[CLIENT] = runtime.client
    app[RUNTIME] = runtime

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await runtime.start()
        yield
        await runtime.stop()

    app.cleanup_ctx.append(lifecycle)
    if mode == "socket":
        app.cleanup_ctx.append(lambda _app: socket_link(runtime))
    else:
        app.router.add_post("/slack/events", slack_events)
    if runtime.store is not None:
        app.router.add_get(INSTALL_PATH, oauth_install)
        app.router.add_get(REDIRECT_PATH, oauth_redirect)
    app.router.add_post("/hooks/deployments", ci_hook.handler(runtime.services, runtime.installation))
    app.router.add_post("/api/v1/gate", gate_hook.handler(runtime.gate_waits, runtime.installation))
    app.router.add_post("/hooks/github", github_hook.handler(runtime.services, runtime.installation, runtime.policies))
    app.router.add_post("/hooks/alerts", alerts_hook.handler(runtime.services, runtime.installation, runtime.metrics))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/calendar.ics", ics_feed.handler(runtime.services))
    app.router.add_get("/metrics", metrics.handler(runtime.metrics, settings.shipmate_metrics_token))
    web_pages.add_routes(app, web_pages.Web(settings, runtime.services, runtime.installation))
    return app


def hand_over_on_sigterm(app: web.Application, drain_seconds: float) -> None:
    """SIGTERM starts the hand-over at once, then stops the server `drain_seconds` later (a second SIGTERM: now),
    so load balancers see /readyz fail before the socket closes. Replaces aiohttp's own SIGTERM handler, which
    `web.run_app` installs before the app starts."""

    def graceful_exit() -> None:
        raise web.GracefulExit()  # how aiohttp stops `run_app`: out of the event loop, then a graceful cleanup

    async def install(_app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        runtime = app[RUNTIME]

        def on_sigterm() -> None:
            if runtime.draining:
                graceful_exit()
            log.info("SIGTERM: handing over; the server stops listening in %ss", drain_seconds)
            runtime.begin_drain()
            loop.call_later(drain_seconds, graceful_exit)

        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
        loop.add_signal_handler(signal.SIGHUP, runtime.reload_policies)

    app.on_startup.append(install)
