"""`POST /hooks/deployments` over HTTP: signature (scheme v2), body validation, idempotency, gates and the bypass
flag. Stale, replayed and once-refused deliveries: tests/security/test_webhook_replay.py."""

import hmac
import time
from hashlib import sha256

import pytest

from bot.domain.policy import Policy
from tests.conftest import POLICY
from tests.handlers.deploy_steps import (
    PROPOSER,
    WEBHOOK_SECRET,
    deployments_of,
    hook_body,
    live_version,
    post_hook,
    propose_and_approve,
    raw,
    sign,
    thread_lines,
)
from tests.harness import Harness

# qa lets CI bypass the gates; prod does not.
BYPASS_POLICY = POLICY.replace(
    'name = "qa"\nregression_required = true', 'name = "qa"\nregression_required = true\nci_may_bypass_gates = true'
)


@pytest.fixture
def policy_text() -> str:
    assert "ci_may_bypass_gates" in BYPASS_POLICY
    return BYPASS_POLICY


async def test_signed_delivery_is_recorded_once(harness: Harness, database_url: str, policy: Policy) -> None:
    await propose_and_approve(harness, "payments@2.5.0")

    first = await post_hook(harness, hook_body())
    second = await post_hook(harness, hook_body())  # CI retried: signed again, same delivery

    assert first.status == 201, first.text
    assert first.json["status"] == "recorded"
    assert first.json["release"] == "payments@2.5.0"
    assert "X-Shipmate-Replayed" not in first.headers
    assert (second.status, second.json) == (201, first.json)  # the first answer, again
    assert second.headers["X-Shipmate-Replayed"] == "true"
    recorded = await deployments_of(database_url, policy, "payments@2.5.0")
    assert [(d.environment, d.actor_id, d.delivery_id) for d in recorded] == [("dev", "ci", "run-42-dev")]
    assert recorded[0].ci_url == "https://ci.example.com/runs/42?attempt=1&job=deploy"
    line = await thread_lines(harness, "🤖 CI deployed *payments@2.5.0* to *dev*")
    assert "<https://ci.example.com/runs/42?attempt=1&amp;job=deploy|CI run>" in line[0]["text"]
    await harness.slack.settle()
    assert len([c for c in harness.slack.posts() if "🤖 CI deployed" in c.text_everywhere]) == 1


def tampered(change: str) -> dict[str, str]:
    """Headers for `hook_body()` that are wrong in one way each."""
    now = int(time.time())
    good = sign(raw(hook_body()), at=now)
    body_only = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), raw(hook_body()), sha256).hexdigest()  # scheme v1
    digest = good["X-Shipmate-Signature"]
    return {
        "missing": {},
        "no-timestamp": {"X-Shipmate-Signature": digest},
        "no-signature": {"X-Shipmate-Timestamp": str(now)},
        "wrong-digest": {**good, "X-Shipmate-Signature": "sha256=" + "0" * 64},
        "wrong-scheme": {**good, "X-Shipmate-Signature": digest.replace("sha256=", "sha1=")},
        "v1-body-only": {**good, "X-Shipmate-Signature": body_only},
        "wrong-secret": sign(raw(hook_body()), "not-the-secret", at=now),
        "other-body": sign(b'{"team_id": "T0TEAM"}', at=now),
        "timestamp-changed": {**good, "X-Shipmate-Timestamp": str(now - 1)},
        "timestamp-garbage": {**good, "X-Shipmate-Timestamp": "yesterday"},
    }[change]


@pytest.mark.parametrize(
    "change",
    [
        "missing",
        "no-timestamp",
        "no-signature",
        "wrong-digest",
        "wrong-scheme",
        "v1-body-only",
        "wrong-secret",
        "other-body",
        "timestamp-changed",
        "timestamp-garbage",
    ],
)
async def test_bad_signature_is_401_and_records_nothing(
    harness: Harness, database_url: str, policy: Policy, change: str
) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    answer = await post_hook(harness, hook_body(), headers=tampered(change))

    assert answer.status == 401, answer.text
    assert answer.json["ok"] is False
    assert answer.json["error"] == "bad_signature"
    assert "webhook-secret" not in answer.text
    assert await deployments_of(database_url, policy, "payments@2.5.0") == []
    # The same delivery, signed properly afterwards, is new: the refused one left no trace.
    assert (await post_hook(harness, hook_body())).status == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"[]", "(body)"),  # JSON, but not an object (not JSON at all is 400: tests/security/test_bad_bytes.py)
        (hook_body(status="deployed"), "status"),
        (hook_body(version="latest"), "version"),
        (hook_body(environment="staging"), "environment"),
        (hook_body(url="javascript:alert(1)"), "url"),
        ({k: v for k, v in hook_body().items() if k != "delivery_id"}, "delivery_id"),
    ],
    ids=["not-an-object", "status", "version", "unknown-env", "url", "no-delivery-id"],
)
async def test_bad_body_is_422_and_records_nothing(
    harness: Harness, database_url: str, policy: Policy, body: dict[str, object] | bytes, field: str
) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    answer = await post_hook(harness, body)
    assert answer.status == 422, answer.text
    assert answer.json["error"] == "invalid_body"
    assert field in [detail["field"] for detail in answer.json["details"]]
    assert await deployments_of(database_url, policy, "payments@2.5.0") == []


async def test_unknown_release_is_404(harness: Harness) -> None:
    answer = await post_hook(harness, hook_body(version="9.9.9"))
    assert answer.status == 404
    assert answer.json["error"] == "not_found"


async def test_ci_passes_the_same_gates_as_a_person(harness: Harness, database_url: str, policy: Policy) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    answer = await post_hook(harness, hook_body(environment="prod", delivery_id="run-7-prod"))

    assert answer.status == 409
    assert answer.json["error"] == "refused_by_gates"
    assert any("has not been deployed to qa" in reason for reason in answer.json["reasons"])
    assert await live_version(database_url, "payments", "prod") is None
    assert await deployments_of(database_url, policy, "payments@2.5.0") == []


async def test_ci_may_bypass_gates_where_the_policy_says_and_is_flagged(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    # qa before dev: the pipeline gate refuses a person, but the policy lets CI through (and says so).
    refused = await harness.command_answer("deploy payments@2.5.0 qa", user=PROPOSER)
    assert "has not been deployed to dev" in refused

    answer = await post_hook(harness, hook_body(environment="qa", delivery_id="run-8-qa"))

    assert answer.status == 201
    assert answer.json["bypassed_gates"] is True
    recorded = await deployments_of(database_url, policy, "payments@2.5.0")
    assert [(d.environment, d.bypassed_gates) for d in recorded] == [("qa", True)]
    line = await thread_lines(harness, "Gates bypassed")
    assert "has not been deployed to dev" in line[0]["text"]
    assert "bypassing 1 gate(s)" in await harness.command_answer("history payments@2.5.0")


async def test_failed_ci_deployment_is_recorded_and_changes_nothing_live(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    answer = await post_hook(harness, hook_body(status="failed", delivery_id="run-9-dev"))

    assert answer.status == 201
    assert answer.json["outcome"] == "failed"
    assert await live_version(database_url, "payments", "dev") is None
    await thread_lines(harness, "reports that deploying *payments@2.5.0* to *dev* failed")
    assert "Deploy to dev" in (await harness.command_answer("show payments@2.5.0"))
