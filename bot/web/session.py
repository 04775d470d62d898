"""Signed cookie values for the web board: who signed in (the session) and the sign-in round trip in progress
(state and nonce). A value is `<base64url JSON>.<base64url HMAC-SHA256>`, with its own key per purpose, derived
from the Slack app's client secret, and an expiry inside the signed part: nothing is stored on the server, and a
value tampered with, made for another purpose or expired reads as no value at all."""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

SESSION_COOKIE = "__Host-shipmate-session"  # __Host-: Secure, Path=/, no Domain, so no subdomain can set it
STATE_COOKIE = "__Host-shipmate-signin"
SESSION_SECONDS = 8 * 3600
STATE_SECONDS = 600  # a sign-in not finished within 10 minutes starts again


@dataclass(frozen=True)
class Identity:
    """A person Slack vouched for, in the workspace they signed in with."""

    team_id: str
    user_id: str
    name: str = ""
    team_name: str = ""


@dataclass(frozen=True)
class SignIn:
    """A sign-in in progress: what Slack must send back (state) and put in the id token (nonce)."""

    state: str
    nonce: str


class Signer:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the web board needs SLACK_CLIENT_SECRET to sign its cookies")
        self._root = hashlib.sha256(b"shipmate web board v1\0" + secret.encode()).digest()

    def _key(self, purpose: str) -> bytes:
        return hmac.new(self._root, purpose.encode(), hashlib.sha256).digest()

    def sign(self, purpose: str, payload: dict[str, Any], *, now: float, seconds: int) -> str:
        body = _b64(json.dumps({**payload, "exp": int(now) + seconds}, separators=(",", ":")).encode())
        mac = hmac.new(self._key(purpose), body.encode(), hashlib.sha256).digest()
        return f"{body}.{_b64(mac)}"

    def read(self, purpose: str, value: str | None, *, now: float) -> dict[str, Any] | None:
        """The payload of a value this signer made for `purpose`, unexpired; None for anything else."""
        if not value or value.count(".") != 1 or len(value) > 4096:
            return None
        body, mac = value.split(".")
        expected = _b64(hmac.new(self._key(purpose), body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            return None
        try:
            payload = json.loads(_unb64(body))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int) or payload["exp"] <= now:
            return None
        return payload

    # -- the two cookies --------------------------------------------------------------------------------------
    def session(self, identity: Identity, *, now: float) -> str:
        payload = {"t": identity.team_id, "u": identity.user_id, "n": identity.name, "w": identity.team_name}
        return self.sign("session", payload, now=now, seconds=SESSION_SECONDS)

    def identity(self, value: str | None, *, now: float) -> Identity | None:
        payload = self.read("session", value, now=now)
        if payload is None or not all(isinstance(payload.get(key), str) for key in ("t", "u", "n", "w")):
            return None
        return Identity(payload["t"], payload["u"], payload["n"], payload["w"])

    def start(self, *, now: float) -> tuple[SignIn, str]:
        """A new sign-in and its cookie value."""
        sign_in = SignIn(secrets.token_urlsafe(24), secrets.token_urlsafe(24))
        value = self.sign("signin", {"s": sign_in.state, "n": sign_in.nonce}, now=now, seconds=STATE_SECONDS)
        return sign_in, value

    def sign_in(self, value: str | None, *, now: float) -> SignIn | None:
        payload = self.read("signin", value, now=now)
        if payload is None or not isinstance(payload.get("s"), str) or not isinstance(payload.get("n"), str):
            return None
        return SignIn(payload["s"], payload["n"])

    def csrf(self, session_value: str) -> str:
        """The sign-out form's token: bound to this session, so another site cannot make one."""
        return _b64(hmac.new(self._key("csrf"), session_value.encode(), hashlib.sha256).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
