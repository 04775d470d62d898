"""The Bolt app: one per process, built by a factory, never module-global."""

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

import handlers
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


def build_bolt_app(settings: Settings, services: ServiceContext, client: AsyncWebClient) -> AsyncApp:
    app = AsyncApp(
        signing_secret=settings.slack_signing_secret or "unset",
        client=client,
        logger=logging.getLogger("shipmate.bolt"),
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )

    async def inject_services(context: dict[str, Any], next: Any) -> None:
        context["services"] = services
        await next()

    app.use(inject_services)
    handlers.register_all(app)
    return app
