"""The app's own lifecycle in a workspace: `app_uninstalled` and `tokens_revoked` (Events API). Bolt lets these
through without a token (there is none any more); the service deletes the tokens and drops the workspace's work."""

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.services.kernel.context import ServiceContext
from bot.services.workspaces import uninstall
from handlers import errors


def _where(body: dict[str, Any]) -> dict[str, Any]:
    org_wide = bool(body.get("is_enterprise_install"))
    return {
        "team_id": body.get("team_id") if not org_wide else None,
        "enterprise_id": body.get("enterprise_id"),
        "org_wide": org_wide,
    }


async def app_uninstalled(body: dict[str, Any], services: ServiceContext) -> None:
    await uninstall.uninstalled(services, **_where(body), reason="app uninstalled")


async def tokens_revoked(body: dict[str, Any], services: ServiceContext) -> None:
    tokens = (body.get("event") or {}).get("tokens") or {}
    await uninstall.tokens_revoked(
        services, **_where(body), bots=bool(tokens.get("bot")), users=bool(tokens.get("oauth"))
    )


def register(app: AsyncApp) -> None:
    app.event("app_uninstalled")(errors.answered(app_uninstalled))
    app.event("tokens_revoked")(errors.answered(tokens_revoked))
