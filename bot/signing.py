"""The signature scheme of Shipmate's own webhooks, both ways (CI → Shipmate, Shipmate → a deployer):

    X-Shipmate-Timestamp: <unix seconds>
    X-Shipmate-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

Signing the timestamp with the body makes a captured request useless after `MAX_SKEW`; the receiver remembers
delivery ids within that window, so a replay inside it changes nothing either.
"""

import hashlib
import hmac
from collections.abc import Mapping

from bot.domain.validation import is_number

TIMESTAMP_HEADER = "X-Shipmate-Timestamp"
SIGNATURE_HEADER = "X-Shipmate-Signature"
MAX_SKEW = 300  # seconds either side of now


class SignatureError(Exception):
    """Why a request is refused (401); the text says what a correct request carries, never the secret."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def sign(secret: str, body: bytes, *, now: float) -> dict[str, str]:
    """The headers for a request with `body`, signed at `now` (unix seconds)."""
    timestamp = int(now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str, body: bytes, headers: Mapping[str, str], *, now: float) -> None:
    """Raise `SignatureError` unless `headers` sign `body` with `secret` within `MAX_SKEW` of `now`."""
    if not secret:
        raise SignatureError("webhooks are disabled: SHIPMATE_WEBHOOK_SECRET is not set on the server")
    raw_timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    if not is_number(raw_timestamp) or len(raw_timestamp) > 12:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be the current time in unix seconds")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > MAX_SKEW:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than {MAX_SKEW // 60} minutes from the server's clock")
    given = headers.get(SIGNATURE_HEADER, "").strip().lower()
    if not given.isascii() or not hmac.compare_digest(signature(secret, timestamp, body), given):
        raise SignatureError(
            f'{SIGNATURE_HEADER} must be sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the shared secret>'
        )
