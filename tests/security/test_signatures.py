"""Bolt's request verification, end to end: only Slack-signed, fresh requests reach a listener."""

import time

import pytest

from tests.fakes.signing import command_body, signature
from tests.harness import COORDINATION, Harness

FORM = "application/x-www-form-urlencoded"


def propose_body(harness: Harness, version: str) -> bytes:
    return command_body(
        f"propose payments {version} Signed or not",
        team_id=harness.team_id,
        user_id="U0ALICE",
        channel_id=COORDINATION,
        response_url=harness.slack.response_url("sig"),
    )


async def assert_nothing_happened(harness: Harness) -> None:
    await harness.slack.settle(0.2)
    assert harness.slack.posts() == []
    assert harness.slack.responses() == []
    assert "No releases yet" in await harness.command_answer("list")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Slack-Signature": "v0=" + "0" * 64}, id="wrong-signature"),
        pytest.param({"X-Slack-Signature": "v1=deadbeef"}, id="wrong-scheme"),
        pytest.param({"X-Slack-Signature": ""}, id="empty-signature"),
        pytest.param({"X-Slack-Request-Timestamp": "not-a-number"}, id="garbage-timestamp"),
    ],
)
async def test_bad_signatures_are_refused(harness: Harness, headers: dict[str, str]) -> None:
    answer = await harness.post_signed(propose_body(harness, "1.0.0"), content_type=FORM, headers=headers)
    assert answer.status == 401
    await assert_nothing_happened(harness)


async def test_missing_signature_headers_are_refused(harness: Harness) -> None:
    async with harness.http.post(
        harness.base_url + "/slack/events", data=propose_body(harness, "1.0.0"), headers={"Content-Type": FORM}
    ) as response:
        assert response.status == 401
    await assert_nothing_happened(harness)


async def test_signed_with_another_secret_is_refused(harness: Harness) -> None:
    answer = await harness.post_signed(propose_body(harness, "1.0.0"), content_type=FORM, secret="someone-else")
    assert answer.status == 401
    await assert_nothing_happened(harness)


async def test_body_changed_after_signing_is_refused(harness: Harness) -> None:
    signed = propose_body(harness, "1.0.0")
    ts = int(time.time())
    tampered = signed.replace(b"1.0.0", b"6.6.6")
    headers = {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature(harness.secret, ts, signed)}
    answer = await harness.post_signed(tampered, content_type=FORM, headers=headers)
    assert answer.status == 401
    await assert_nothing_happened(harness)


@pytest.mark.parametrize("skew", [-6 * 60, -3600, 6 * 60, 3600], ids=["6min-old", "1h-old", "6min-ahead", "1h-ahead"])
async def test_stale_and_future_timestamps_are_refused(harness: Harness, skew: int) -> None:
    """Correctly signed, but outside Slack's five-minute window: a captured request cannot be used later."""
    answer = await harness.post_signed(
        propose_body(harness, "1.0.0"), content_type=FORM, timestamp=int(time.time()) + skew
    )
    assert answer.status == 401
    await assert_nothing_happened(harness)


async def test_a_fresh_signature_within_the_window_is_accepted(harness: Harness) -> None:
    """The control for the tests above: the same body, signed four minutes ago, is taken."""
    answer = await harness.post_signed(
        propose_body(harness, "1.0.0"), content_type=FORM, timestamp=int(time.time()) - 4 * 60
    )
    assert answer.status == 200
    await harness.slack.wait_for("chat.postMessage", lambda c: "payments@1.0.0" in c.text_everywhere)


async def test_health_endpoints_need_no_signature(harness: Harness) -> None:
    assert (await harness.get("/healthz")).status == 200
    assert (await harness.get("/readyz")).json["status"] == "ready"
