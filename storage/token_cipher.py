"""Tokens at rest: Slack's bot, user and refresh tokens are stored encrypted with Fernet (AES-128-CBC and an
HMAC-SHA256, from the `cryptography` package) under SHIPMATE_ENCRYPTION_KEY, so a copy of the database alone
(a backup, a read replica, a dump in a ticket) grants nothing in anyone's Slack."""

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "fernet:"  # what marks a stored value as ours: a plain token in the column is refused, never sent


def fernet_key_problem(key: str) -> str | None:
    """What is wrong with a key, in words (None: it is a Fernet key: 32 bytes, URL-safe base64)."""
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return "is not URL-safe base64 (make one with `shipmate keygen` or Fernet.generate_key())"
    if len(raw) != 32:
        return f"decodes to {len(raw)} bytes, not 32 (make one with `shipmate keygen` or Fernet.generate_key())"
    return None


class UnreadableToken(ValueError):
    """A stored token that this key cannot decrypt (another key, or tampered with)."""


class TokenCipher:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode("ascii"))

    def seal(self, token: str | None) -> str | None:
        if token is None:
            return None
        return PREFIX + self._fernet.encrypt(token.encode()).decode("ascii")

    def open(self, stored: str | None) -> str | None:
        if stored is None:
            return None
        if not stored.startswith(PREFIX):
            raise UnreadableToken("a stored token is not encrypted")
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
        except InvalidToken:
            raise UnreadableToken("a stored token does not open with SHIPMATE_ENCRYPTION_KEY") from None

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode("ascii")
