"""Requests signed the way Slack signs them: `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`."""

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode


def signature(secret: str, timestamp: int, body: bytes) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None, content_type: str) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(secret, ts, body),
    }


def command_payload(text: str, *, team_id: str, user_id: str, channel_id: str, response_url: str) -> dict[str, str]:
    """A slash command's fields: form-encoded over HTTP, the `payload` of a Socket Mode envelope."""
    return {
        "token": "legacy",
        "team_id": team_id,
        "team_domain": "test",
        "channel_id": channel_id,
        "channel_name": "releases",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": "/release",
        "text": text,
        "api_app_id": "A0APP",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"trigger.{user_id}.{time.monotonic_ns()}",
    }


def command_body(text: str, *, team_id: str, user_id: str, channel_id: str, response_url: str) -> bytes:
    payload = command_payload(text, team_id=team_id, user_id=user_id, channel_id=channel_id, response_url=response_url)
    return urlencode(payload).encode()


def interactive_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def event_payload(event: dict[str, Any], *, team_id: str, event_id: str) -> dict[str, Any]:
    """An Events API callback: the JSON body over HTTP, the `payload` of a Socket Mode envelope."""
    return {
        "token": "legacy",
        "team_id": team_id,
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": team_id, "user_id": "U0BOT", "is_bot": True}],
        "is_ext_shared_channel": False,
    }


def event_body(event: dict[str, Any], *, team_id: str, event_id: str) -> bytes:
    return json.dumps(event_payload(event, team_id=team_id, event_id=event_id)).encode()
