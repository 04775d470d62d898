"""The Slack app manifest: what `shipmate manifest` prints for "Create an app from a manifest"."""

from typing import Any

BOT_SCOPES = [
    "commands",  # /release
    "chat:write",  # release messages, threads, stakeholder posts, ephemeral answers
    "chat:write.public",  # post in public channels the bot was not invited to
    "im:write",  # direct messages to subscribers, approvers and action item owners
    "usergroups:read",  # resolve approver user groups (S…)
    "channels:history",  # review replies in public channel threads
    "groups:history",  # review replies in private channel threads
    "users:read",  # each person's time zone for the calendar
    "channels:read",  # `shipmate doctor`: the policy's public channels exist and the bot is in them
    "groups:read",  # `shipmate doctor`: the same for private channels
    "files:write",  # delivery metric charts (shown in image blocks); change exports sent to release managers
]
# app_uninstalled and tokens_revoked: a workspace that removes Shipmate loses its tokens and its pending work.
BOT_EVENTS = ["app_home_opened", "app_uninstalled", "message.channels", "message.groups", "tokens_revoked"]
REDIRECT_PATH = "/slack/oauth_redirect"


def manifest(url: str | None = None, *, socket: bool = False) -> dict[str, Any]:
    base = (url or "https://shipmate.example.com").rstrip("/")
    events_url = base if base.endswith("/slack/events") else f"{base}/slack/events"
    site = events_url.removesuffix("/slack/events")
    command: dict[str, Any] = {
        "command": "/release",
        "description": "Propose, approve, deploy and review releases",
        "usage_hint": "help | propose | approve <service@version> | deploy <service@version> <env> | status",
        "should_escape": False,
    }
    event_subscriptions: dict[str, Any] = {"bot_events": BOT_EVENTS}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if not socket:
        command["url"] = events_url
        event_subscriptions["request_url"] = events_url
        interactivity["request_url"] = events_url
    return {
        "display_information": {
            "name": "Shipmate",
            "description": "Release management where your team already talks.",
            "background_color": "#1d3557",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": "shipmate", "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {
            "scopes": {"bot": BOT_SCOPES},
            # where Slack sends people back: after "Add to Slack" (many workspaces, HTTP only), and after Sign in
            # with Slack on the web board (bot/web/signin.py)
            "redirect_urls": [*([] if socket else [f"{site}{REDIRECT_PATH}"]), f"{site}/board/callback"],
        },
        "settings": {
            "event_subscriptions": event_subscriptions,
            "interactivity": interactivity,
            "org_deploy_enabled": True,  # an Enterprise Grid organisation may install it once for every workspace
            "socket_mode_enabled": socket,
            "token_rotation_enabled": False,
        },
    }
