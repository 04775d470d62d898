"""Steps shared by the deployment scenarios: propose, approve, deploy, sign the CI webhook, read the database."""

import json
import time
from collections.abc import Sequence
from typing import Any

from bot import signing
from bot.domain.policy import Policy
from storage.db import Database
from storage.models import Deployment
from storage.repositories import deployments as deployments_repo
from storage.repositories import releases as releases_repo
from tests.fakes.slack_api import Call
from tests.harness import COORDINATION, Answer, Harness

WEBHOOK_SECRET = "webhook-secret"  # tests/conftest.py make_settings
PROPOSER = "U0ALICE"
APPROVERS = ("U0BOB", "U0CAROL")
# Prod needs approvals, so its proposer may not deploy there. tests/conftest.py POLICY lists no prod deployers:
# its approvers may (U0DAVE approves nothing in these steps), and release managers always may.
PROD_DEPLOYER = "U0DAVE"
RELEASE_MANAGER = "U0RM"


async def propose_and_approve(harness: Harness, ref: str, summary: str = "Faster checkout") -> None:
    service, version = ref.split("@")
    answer = await harness.command_answer(f"propose {service} {version} {summary}", user=PROPOSER)
    assert "Proposed" in answer, answer
    for approver in APPROVERS:
        answer = await harness.command_answer(f"approve {ref}", user=approver)
        assert "You approved" in answer, answer


async def ship_to_prod(harness: Harness, ref: str, deployer: str = RELEASE_MANAGER) -> None:
    """dev → qa (by the proposer) → regression passed → prod (by `deployer`), asserting each step is recorded."""
    for env in ("dev", "qa"):
        answer = await harness.command_answer(f"deploy {ref} {env}", user=PROPOSER)
        assert f"is live in *{env}*" in answer, answer
    answer = await harness.command_answer(f"verify {ref} qa passed all green", user="U0QA")
    assert "*passed*" in answer, answer
    answer = await harness.command_answer(f"deploy {ref} prod", user=deployer)
    assert "is live in *prod*" in answer, answer


async def thread_lines(harness: Harness, predicate: str, count: int = 1) -> list[Call]:
    return await harness.slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") == COORDINATION and bool(c.get("thread_ts")) and predicate in c.text_everywhere,
        count=count,
    )


def sign(body: bytes, secret: str = WEBHOOK_SECRET, *, at: float | None = None) -> dict[str, str]:
    """The v2 headers (`X-Shipmate-Timestamp`, `X-Shipmate-Signature`) for `body`, signed now or `at`."""
    return signing.sign(secret, body, now=time.time() if at is None else at)


def hook_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "team_id": "T0TEAM",
        "service": "payments",
        "version": "2.5.0",
        "environment": "dev",
        "status": "succeeded",
        "url": "https://ci.example.com/runs/42?attempt=1&job=deploy",
        "delivery_id": "run-42-dev",
    }
    body.update(overrides)
    return body


def raw(body: dict[str, Any] | bytes) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


async def post_hook(
    harness: Harness,
    body: dict[str, Any] | bytes,
    *,
    headers: dict[str, str] | None = None,
    sign_with: str = WEBHOOK_SECRET,
    at: float | None = None,
) -> Answer:
    """POST a delivery signed with `sign_with` at `at` (default now); `headers` replaces the signature headers."""
    data = raw(body)
    sent = {"Content-Type": "application/json", **(sign(data, sign_with, at=at) if headers is None else headers)}
    async with harness.http.post(harness.base_url + "/hooks/deployments", data=data, headers=sent) as response:
        return Answer(response.status, await response.text(), response.headers)


async def deployments_of(database_url: str, policy: Policy, ref: str) -> Sequence[Deployment]:
    """Read the database directly: what the service recorded, not what it said."""
    service, version = ref.split("@")
    db = Database(database_url)
    try:
        async with db.read() as session:
            release = await releases_repo.get(session=session, team_id="T0TEAM", service=service, version=version)
            if release is None or release.id is None:
                return []
            return await deployments_repo.for_release(session=session, team_id="T0TEAM", release_id=release.id)
    finally:
        await db.dispose()


async def live_version(database_url: str, service: str, environment: str) -> str | None:
    db = Database(database_url)
    try:
        async with db.read() as session:
            live = await deployments_repo.current(
                session=session, team_id="T0TEAM", service=service, environment=environment
            )
            return live.version if live else None
    finally:
        await db.dispose()
