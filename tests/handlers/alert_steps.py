"""Steps shared by the alert scenarios: Alertmanager's and Grafana's published example bodies, relabelled for a
service and an environment, posted to `POST /hooks/alerts` with the bearer token."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.handlers.deploy_steps import PROPOSER
from tests.harness import Answer, Harness

ALERTS_TOKEN = "alerts-token"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alerts"
DEPLOYER = "U0DAVE"

POLICY = """
release_managers = ["U0RM"]
timezone = "UTC"

[slack]
coordination_channel = "C0RELEASE"
stakeholder_channel = "C0STAKE"

[[environments]]
name = "dev"

[[environments]]
name = "qa"

[[environments]]
name = "prod"
deployers = ["U0DAVE"]
watch = "30m"
auto_rollback = {auto}
rollback_grace = "{grace}"
{extra}

[alerts]
environments = {{ production = "prod", staging = "qa" }}
"""


def policy(auto: str = "false", extra: str = "", grace: str = "2m") -> str:
    return POLICY.format(auto=auto, extra=extra, grace=grace)


def example(name: str) -> dict[str, Any]:
    """`alertmanager` or `grafana`: the published example body (tests/fixtures/alerts/README.md)."""
    return dict(json.loads((FIXTURES / f"{name}.payload.json").read_text(encoding="utf-8")))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alertmanager(
    status: str = "firing",
    *,
    service: str = "payments",
    environment: str = "production",
    starts_at: datetime | None = None,
    fingerprint: str | None = None,
    name: str | None = None,
    ends_at: datetime | None = None,
) -> dict[str, Any]:
    """Alertmanager's example, its one alert relabelled (and resolved when `status` says so)."""
    body = copy.deepcopy(example("alertmanager"))
    alert = body["alerts"][0]
    alert["labels"] |= {"service": service, "environment": environment}
    if name:
        alert["labels"]["alertname"] = name
    alert["status"] = body["status"] = status
    alert["startsAt"] = iso(starts_at or datetime.now(UTC))
    if status == "resolved":
        alert["endsAt"] = iso(ends_at or datetime.now(UTC))
    if fingerprint:
        alert["fingerprint"] = fingerprint
    return body


async def post_alerts(harness: Harness, body: dict[str, Any] | bytes, *, token: str | None = ALERTS_TOKEN) -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with harness.http.post(harness.base_url + "/hooks/alerts", data=raw, headers=headers) as response:
        return Answer(response.status, await response.text(), response.headers)


async def ship(harness: Harness, ref: str, *, deployer: str = DEPLOYER) -> None:
    """Proposed, then live in dev, qa and prod."""
    service, version = ref.split("@")
    assert "Proposed" in await harness.command_answer(f"propose {service} {version} Faster checkout", user=PROPOSER)
    for env in ("dev", "qa"):
        assert f"is live in *{env}*" in await harness.command_answer(f"deploy {ref} {env}", user=PROPOSER)
    answer = await harness.command_answer(f"deploy {ref} prod", user=deployer)
    assert "is live in *prod*" in answer, answer
