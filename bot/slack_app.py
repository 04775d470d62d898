"""The Bolt app: one per process, built by a factory, never module-global.

Over HTTP, Bolt verifies every request with SLACK_SIGNING_SECRET and there is no fallback secret: without one the
app is not built. In Socket Mode nothing reaches Bolt over HTTP (the server has no `/slack/events`), and a guard
refuses anything that did not come through the socket, so no secret is needed or invented.
"""

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

import handlers
from bot import logs
from bot.domain.errors import ErrorCode
from bot.in_flight import InFlight
from bot.manifest import BOT_SCOPES, REDIRECT_PATH
from bot.metrics import RECEIVED_AT, Metrics, surface
from bot.services.kernel.context import ServiceContext
from bot.settings import Settings
from storage.installation_store import STATE_EXPIRES_SECONDS, SealedInstallationStore, state_store

INSTALL_PATH = "/slack/install"


def oauth_settings(settings: Settings, store: SealedInstallationStore) -> AsyncOAuthSettings:
    """Bolt's OAuth flow for many workspaces: tokens in our (sealed) store, `state` good for ten minutes, rotating
    tokens refreshed `SHIPMATE_TOKEN_ROTATION_MINUTES` before they expire, org-wide installs accepted."""
    public = settings.shipmate_public_url.rstrip("/")
    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=BOT_SCOPES,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        redirect_uri=f"{public}{REDIRECT_PATH}" if public else None,
        installation_store=store,
        state_store=state_store(store.engine),
        state_expiration_seconds=STATE_EXPIRES_SECONDS,
        token_rotation_expiration_minutes=settings.shipmate_token_rotation_minutes,
        install_page_rendering_enabled=False,  # /slack/install goes straight to Slack's consent page
    )
    # Bolt finds each request's token in the store, then asks Slack `auth.test` about it: once per token is enough
    # (a token removed from the store is not found any more, whatever was kept about it).
    oauth.authorize.cache_enabled = True  # type: ignore[attr-defined]
    return oauth


class WorkspaceLog(AsyncMiddleware):
    """Many workspaces: remembers which enterprise each workspace that speaks belongs to (once per process), so
    that messages for a workspace of an org-wide install find the enterprise's token, and its policy."""

    def __init__(self, store: SealedInstallationStore) -> None:
        self.store = store
        self.known: set[tuple[str, str | None]] = set()

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        team_id, enterprise_id = req.context.team_id, req.context.enterprise_id
        if team_id and (team_id, enterprise_id) not in self.known:
            await self.store.remember(team_id=team_id, enterprise_id=enterprise_id)
            self.known.add((team_id, enterprise_id))
        return await next()


def web_client(settings: Settings, *, observer: AsyncRetryHandler | None = None) -> AsyncWebClient:
    """Slack Web API client: waits out 429 `Retry-After`, retries 5xx and dropped connections a little;
    the outbox retries longer. An `observer` (first, never retrying) sees every answer, for metrics."""
    return AsyncWebClient(
        token=settings.slack_bot_token or None,
        base_url=settings.slack_api_url,
        timeout=int(max(1, settings.shipmate_slack_timeout)),
        retry_handlers=[
            *([observer] if observer is not None else []),
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
            AsyncServerErrorRetryHandler(max_retry_count=1),
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
        ],
    )


class PooledRespond(AsyncRespond):
    """Bolt's `respond`, over the process's pooled HTTP session: Bolt's own opens a new connection per answer,
    which was a third of the time of a `/release list`."""

    def __init__(self, response_url: str, session: aiohttp.ClientSession) -> None:
        super().__init__(response_url=response_url)
        self.session = session

    async def __call__(self, text: str | dict[str, Any] = "", **kwargs: Any) -> WebhookResponse:  # type: ignore[override]
        fields = dict(text) if isinstance(text, dict) else {"text": text, **kwargs}
        message = {key: _plain(value) for key, value in fields.items() if value is not None}
        webhook = AsyncWebhookClient(url=str(self.response_url), session=self.session)
        return await webhook.send_dict(message)


def _plain(value: Any) -> Any:
    """Block Kit model objects as the dicts Slack reads (our templates already give dicts)."""
    if isinstance(value, list | tuple):
        return [item.to_dict() if hasattr(item, "to_dict") else item for item in value]
    return value


Mode = Literal["http", "socket"]


class MissingSigningSecret(ValueError):
    """Serving Slack over HTTP without SLACK_SIGNING_SECRET would accept forged requests."""


async def socket_only(req: AsyncBoltRequest, next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
    """In Socket Mode, a request that did not come through the socket is not Slack's: it is not served."""
    if req.mode != "socket_mode":
        return BoltResponse(status=404, body={"error": ErrorCode.NOT_FOUND})
    return await next()


class InjectServices(AsyncMiddleware):
    """Puts the process's services into every listener's context (asked for by name). Class-based: Bolt calls it
    with the request as it is, without building every listener argument for it."""

    def __init__(
        self,
        services: ServiceContext,
        in_flight: InFlight,
        metrics: Metrics | None,
        ack_budget: float,
        client: AsyncWebClient,
    ) -> None:
        self.services = services
        self.fields = {"in_flight": in_flight, "metrics": metrics, "ack_budget": ack_budget}
        self.client = client

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        context = req.context
        context.update(self.fields)
        context["services"] = self.services.for_team(context.team_id, context.enterprise_id)
        if self.client.session is not None and context.get("response_url"):
            context["respond"] = PooledRespond(context["response_url"], self.client.session)
        await next()
        return None


class ObservedApp(AsyncApp):
    """Bolt's app, timing each request from arrival to ack and giving it a request id for the logs. HTTP and
    Socket Mode both enter through `async_dispatch`; the listener's task inherits the log context."""

    metrics: Metrics | None = None

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        req.context[RECEIVED_AT] = time.perf_counter()
        with logs.bound(request_id=uuid.uuid4().hex[:12], team=req.context.team_id):
            response = await super().async_dispatch(req)
        if self.metrics is not None:
            self.metrics.acked(surface(req.body), req.context, response.status)
        return response


def build_bolt_app(
    settings: Settings,
    services: ServiceContext,
    client: AsyncWebClient,
    in_flight: InFlight,
    *,
    mode: Mode = "http",
    metrics: Metrics | None = None,
    store: SealedInstallationStore | None = None,
) -> AsyncApp:
    if mode == "http" and not settings.slack_signing_secret:
        raise MissingSigningSecret("SLACK_SIGNING_SECRET is required to serve Slack over HTTP")
    # Bolt's loggers copy this one's level when the app is built: at INFO, slack_bolt.RequestVerification would
    # log the raw body of every badly signed request (secrets, forged log lines). Bolt speaks from WARNING up.
    bolt_logger = logging.getLogger("shipmate.bolt")
    bolt_logger.setLevel(max(bolt_logger.level, logging.WARNING))
    app = ObservedApp(
        signing_secret=settings.slack_signing_secret,
        # Socket Mode requests carry no signature (Bolt skips them); `socket_only` refuses every other kind.
        request_verification_enabled=mode == "http",
        client=client,
        logger=bolt_logger,
        # Listeners run inline: `errors.answered` decides when Slack gets the ack (within the budget, with the
        # answer) and runs what comes after it as counted work; Bolt's own background mode polls for the ack.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        # Many workspaces: Bolt serves the install pages and finds each request's workspace token in the store.
        oauth_settings=oauth_settings(settings, store) if store is not None else None,
    )
    if mode == "socket":
        app.use(socket_only)

    app.metrics = metrics
    if store is not None:
        app.use(WorkspaceLog(store))
    app.use(InjectServices(services, in_flight, metrics, settings.shipmate_ack_budget, client))
    handlers.register_all(app, in_flight)
    return app
