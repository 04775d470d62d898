"""Freeze overrides: only a release manager may deploy into a frozen environment, with a reason that is audited
and announced. Freezes come from change management (`bot.services.change.active_freezes`, what the deployment
gates ask); here it is stubbed."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.gates import ActiveFreeze
from bot.domain.policy import Policy
from bot.services import change
from tests.handlers.deploy_steps import PROPOSER, deployments_of, propose_and_approve
from tests.harness import STAKEHOLDERS, Harness


@pytest.fixture(autouse=True)
def dev_is_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    async def active(*_args: object, environment: str, **_kwargs: object) -> list[ActiveFreeze]:
        if environment != "dev":
            return []
        ends = datetime.now(UTC) + timedelta(days=1)
        return [ActiveFreeze(label="#1 “quarter close”", reason="books closing", ends_at=ends, freeze_id=1)]

    monkeypatch.setattr(change, "active_freezes", active)


async def test_freeze_refuses_people_and_takes_a_release_manager_override(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    await propose_and_approve(harness, "payments@2.5.0")

    refused = await harness.command_answer("deploy payments@2.5.0 dev", user=PROPOSER)
    assert "dev is frozen" in refused
    assert "--override &lt;reason&gt;" in refused
    not_rm = await harness.command_answer("deploy payments@2.5.0 dev --override urgent", user=PROPOSER)
    assert "only a release manager may override" in not_rm
    assert await deployments_of(database_url, policy, "payments@2.5.0") == []

    answer = await harness.command_answer("deploy payments@2.5.0 dev --override fixes <b>outage</b>", user="U0RM")

    assert "is live in *dev*" in answer
    assert "freeze override is in the audit history" in answer
    recorded = await deployments_of(database_url, policy, "payments@2.5.0")
    assert [(d.environment, d.actor_id, d.override_reason) for d in recorded] == [
        ("dev", "U0RM", "fixes <b>outage</b>")
    ]
    news = await harness.slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == STAKEHOLDERS and "change freeze" in c.text_everywhere
    )
    assert "fixes &lt;b&gt;outage&lt;/b&gt;" in news[0].text_everywhere
    history = await harness.command_answer("history payments@2.5.0")
    assert "with a freeze override" in history


async def test_override_without_a_freeze_is_not_recorded(harness: Harness, database_url: str, policy: Policy) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    await harness.command_answer("deploy payments@2.5.0 dev --override x", user="U0RM")
    answer = await harness.command_answer("deploy payments@2.5.0 qa --override just in case", user="U0RM")
    assert "qa is not frozen, so no override was needed" in answer
    qa = [d for d in await deployments_of(database_url, policy, "payments@2.5.0") if d.environment == "qa"]
    assert qa[0].override_reason is None
