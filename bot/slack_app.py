"""The Bolt app: one per process, built by a factory, never module-global."""

import logging
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

import handlers
from bot.in_flight import InFlight
from bot.services.context import ServiceContext
from bot.settings import Settings


def web_client(settings: Settings) -> AsyncWebClient:
    """Slack Web API client: waits out 429 `Retry-After`, retries 5xx and dropped connections a little;
    the outbox retries longer."""
    return AsyncWebClient(
        token=settings.slack_bot_token or None,
        base_url=settings.slack_api_url,
        timeout=int(max(1, settings.shipmate_slack_timeout)),
        retry_handlers=[
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


def build_bolt_app(
    settings: Settings, services: ServiceContext, client: AsyncWebClient, in_flight: InFlight
) -> AsyncApp:
    app = AsyncApp(
        signing_secret=settings.slack_signing_secret or "unset",
        client=client,
        logger=logging.getLogger("shipmate.bolt"),
        # Listeners run inline: `errors.answered` decides when Slack gets the ack (within the budget, with the
        # answer) and runs what comes after it as counted work; Bolt's own background mode polls for the ack.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )

    async def inject_services(context: dict[str, Any], next: Any) -> None:
        context["services"] = services
        context["in_flight"] = in_flight
        context["ack_budget"] = settings.shipmate_ack_budget
        if client.session is not None and context.get("response_url"):
            context["respond"] = PooledRespond(context["response_url"], client.session)
        await next()

    app.use(inject_services)
    handlers.register_all(app, in_flight)
    return app
