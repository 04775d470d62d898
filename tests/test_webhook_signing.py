"""The webhook signature scheme both ways: what we sign verifies, and every kind of tampering is refused."""

import pytest

from bot.signing import MAX_SKEW, SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, sign, verify

BODY = b'{"service":"payments"}'
NOW = 1_800_000_000.0


def test_a_signed_request_verifies() -> None:
    headers = sign("s3cret", BODY, now=NOW)
    assert headers[TIMESTAMP_HEADER] == "1800000000"
    assert headers[SIGNATURE_HEADER].startswith("sha256=")
    verify("s3cret", BODY, headers, now=NOW + MAX_SKEW)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"body": BODY + b" "}, "HMAC"),
        ({"secret": "other"}, "HMAC"),
        ({"now": NOW + MAX_SKEW + 1}, "minutes"),
        ({"now": NOW - MAX_SKEW - 1}, "minutes"),
        ({"timestamp": "yesterday"}, "unix seconds"),
        ({"timestamp": str(int(NOW) + 1)}, "HMAC"),  # the signature covers the timestamp too
        ({"secret_on_server": ""}, "disabled"),
    ],
)
def test_tampering_is_refused(change: dict[str, object], says: str) -> None:
    headers = sign(str(change.get("secret", "s3cret")), BODY, now=NOW)
    if "timestamp" in change:
        headers[TIMESTAMP_HEADER] = str(change["timestamp"])
    body = change.get("body", BODY)
    assert isinstance(body, bytes)
    now = change.get("now", NOW)
    assert isinstance(now, float)
    with pytest.raises(SignatureError, match=says):
        verify(str(change.get("secret_on_server", "s3cret")), body, headers, now=now)
