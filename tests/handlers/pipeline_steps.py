"""Steps shared by the pipeline scenarios: signed gate checks, GitHub deliveries, reading what was audited."""

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot import signing
from storage.db import Database
from storage.models import AuditEvent, DeploymentRequest
from storage.repositories import audit
from storage.repositories import releases as releases_repo
from tests.fakes.slack_api import FakeSlack
from tests.harness import COORDINATION, Answer, Harness

WEBHOOK_SECRET = "webhook-secret"  # tests/conftest.py make_settings
GITHUB_SECRET = "github-webhook-secret"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github"


async def gate(harness: Harness, body: dict[str, Any] | bytes, *, secret: str = WEBHOOK_SECRET) -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **signing.sign(secret, raw, now=time.time())}
    async with harness.http.post(harness.base_url + "/api/v1/gate", data=raw, headers=headers) as response:
        return Answer(response.status, await response.text(), response.headers)


def gate_body(ref: str = "payments@2.5.0", environment: str = "prod", **extra: Any) -> dict[str, Any]:
    service, version = ref.split("@")
    return {"team_id": "T0TEAM", "service": service, "version": version, "environment": environment, **extra}


def example(name: str) -> dict[str, Any]:
    """One of GitHub's published example payloads (tests/fixtures/github/README.md says where from)."""
    return dict(json.loads((FIXTURES / f"{name}.payload.json").read_text(encoding="utf-8")))


async def github(
    harness: Harness,
    event: str,
    payload: dict[str, Any] | bytes,
    *,
    delivery: str | None = None,
    secret: str = GITHUB_SECRET,
    signature: str | None = None,
) -> Answer:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature or "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(),
        "User-Agent": "GitHub-Hookshot/test",
    }
    async with harness.http.post(harness.base_url + "/hooks/github", data=raw, headers=headers) as response:
        return Answer(response.status, await response.text())


async def audited(database_url: str, ref: str, action: str) -> Sequence[AuditEvent]:
    service, version = ref.split("@")
    db = Database(database_url)
    try:
        async with db.read() as session:
            release = await releases_repo.get(session=session, team_id="T0TEAM", service=service, version=version)
            if release is None:
                return []
            events = await audit.newest_for_release(
                session=session, team_id="T0TEAM", release_id=release.pk, limit=1000
            )
            return [event for event in events if event.action == action]
    finally:
        await db.dispose()


async def requests_of(database_url: str) -> Sequence[DeploymentRequest]:
    from sqlmodel import col, select

    db = Database(database_url)
    try:
        async with db.read() as session:
            return (await session.exec(select(DeploymentRequest).order_by(col(DeploymentRequest.id)))).all()
    finally:
        await db.dispose()


async def card_shows(slack: FakeSlack, text: str, *, absent: str | None = None) -> None:
    """Wait until the release card (posted or updated: the first card Slack sees may already be this state)
    shows `text` (and not `absent`)."""

    def card(call: Any) -> bool:
        return (
            call.method in ("chat.postMessage", "chat.update")
            and call.get("channel") == COORDINATION
            and not call.get("thread_ts")
            and text in call.text_everywhere
            and (absent is None or absent not in call.text_everywhere)
        )

    deadline = time.monotonic() + 10
    while not any(card(call) for call in slack.calls):
        if time.monotonic() > deadline:
            raise AssertionError(f"no card shows {text!r}")
        await asyncio.sleep(0.05)
