"""Signed cookie values: a value reads back only for its purpose, unchanged, under the same key and before it
expires."""

import pytest

from bot.web.session import SESSION_SECONDS, STATE_SECONDS, Identity, Signer

NOW = 1_800_000_000.0


def test_a_session_reads_back_until_it_expires() -> None:
    signer = Signer("secret")
    value = signer.session(Identity("T0A", "U0A", "Ann", "Acme"), now=NOW)
    assert signer.identity(value, now=NOW + SESSION_SECONDS - 1) == Identity("T0A", "U0A", "Ann", "Acme")
    assert signer.identity(value, now=NOW + SESSION_SECONDS) is None


@pytest.mark.parametrize(
    "value",
    ["", "x", "a.b", "a.b.c", "é.é", "." * 5000],
)
def test_anything_else_is_no_session(value: str) -> None:
    assert Signer("secret").identity(value, now=NOW) is None


def test_a_value_for_one_purpose_is_nothing_for_another() -> None:
    signer = Signer("secret")
    sign_in, value = signer.start(now=NOW)
    assert signer.sign_in(value, now=NOW) == sign_in
    assert signer.identity(value, now=NOW) is None
    assert signer.sign_in(value, now=NOW + STATE_SECONDS) is None
    session = signer.session(Identity("T0A", "U0A"), now=NOW)
    assert signer.sign_in(session, now=NOW) is None


def test_a_changed_payload_or_another_key_is_refused() -> None:
    value = Signer("secret").session(Identity("T0A", "U0A"), now=NOW)
    body, mac = value.split(".")
    flipped = ("A" if body[5] != "A" else "B").join((body[:5], body[6:]))
    assert Signer("secret").identity(f"{flipped}.{mac}", now=NOW) is None
    assert Signer("another").identity(value, now=NOW) is None


def test_the_sign_out_token_is_bound_to_the_session() -> None:
    signer = Signer("secret")
    one, two = (signer.session(Identity("T0A", user), now=NOW) for user in ("U0A", "U0B"))
    assert signer.csrf(one) != signer.csrf(two)
    assert signer.csrf(one) == signer.csrf(one)


def test_no_secret_no_signer() -> None:
    with pytest.raises(ValueError, match="SLACK_CLIENT_SECRET"):
        Signer("")
