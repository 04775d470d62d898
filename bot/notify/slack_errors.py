"""What a failed Slack call tells us, whatever shape the answer took: Slack's JSON (`ok: false` and a code), a
proxy's HTML or plain-text 5xx, an empty body, a body that claims to be JSON and is not, a dropped connection.
Reading it never raises, so the outbox always reschedules the message with its back-off."""

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

# The Web API methods Shipmate calls: a metrics label or log field names one of these, else `other`, so a URL that
# is not a method (a file's upload URL) never becomes a label of its own.
WEB_API_METHODS = frozenset(
    {
        "apps.connections.open",
        "auth.test",
        "bots.info",
        "chat.delete",
        "chat.postEphemeral",
        "chat.postMessage",
        "chat.update",
        "conversations.info",
        "conversations.open",
        "files.completeUploadExternal",
        "files.getUploadURLExternal",
        "oauth.v2.access",
        "openid.connect.token",
        "openid.connect.userInfo",
        "team.info",
        "usergroups.list",
        "usergroups.users.list",
        "users.info",
        "views.open",
        "views.publish",
        "views.push",
        "views.update",
    }
)

# Slack errors that retrying cannot fix by itself; still retried a few times (someone may invite the bot).
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_auth",
        "account_inactive",
        "msg_too_long",
        "no_text",
        "user_not_found",
        "cannot_dm_bot",
        "invalid_arguments",
        "token_revoked",
    }
)


@dataclass(frozen=True)
class Failure:
    error: str  # for the outbox row and the log: status and Slack's code, or what the answer was instead
    retry_after: float | None = None  # seconds Slack asked us to wait (429)
    permanent: bool = False
    label: str = "error"  # short and bounded, for metrics: Slack's code, http_NNN, timeout, network or the type
    fatal: bool = False  # no retry can ever succeed (a deployer's redirect): given up at the first attempt


def web_api_method(url: str) -> str:
    """The Web API method a request URL calls (`…/api/chat.postMessage?x` → `chat.postMessage`), else `other`."""
    name = str(url).split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return name if name in WEB_API_METHODS else "other"


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, SlackApiError):
        return _slack_answer(exc.response)
    if isinstance(exc, TimeoutError):
        return Failure(f"network: {type(exc).__name__} {exc}".strip(), label="timeout")
    if isinstance(exc, aiohttp.ClientError | ConnectionError):
        return Failure(f"network: {type(exc).__name__} {exc}".strip(), label="network")
    return Failure(f"{type(exc).__name__}: {exc}", label=type(exc).__name__)


def _slack_answer(response: Any) -> Failure:
    # slack_sdk hands over its own response, or aiohttp's when the body would not parse: read both defensively.
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    data = getattr(response, "data", None)
    label = f"http_{status or 'unknown'}"
    if isinstance(data, dict) and data.get("error"):
        code = label = str(data["error"])[:60]
    elif isinstance(data, dict) and data:
        code = "answer without an error code"
    elif isinstance(data, str | bytes) and data.strip():
        code = "non-JSON answer"
    else:
        code = "empty or non-JSON answer"
    retry_after = _retry_after(getattr(response, "headers", None)) if status == 429 else None
    return Failure(f"slack {status or '?'} {code}", retry_after=retry_after, permanent=code in PERMANENT, label=label)


def _retry_after(headers: Any) -> float | None:
    """`Retry-After` in seconds or as an HTTP date (RFC 9110); None when absent or unreadable."""
    value = None
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
    except AttributeError:
        return None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
