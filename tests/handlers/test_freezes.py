"""Freezes over signed HTTP: who may freeze, what people are told, and what the deployment gate then sees."""

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.gates import ActiveFreeze, GateFacts, evaluate
from bot.domain.lifecycle import Status
from bot.domain.policy import Policy
from bot.services.change.freeze_lookup import active_freezes
from bot.services.kernel.context import ServiceContext
from bot.settings import Settings
from bot.slack_text import mrkdwn
from storage.db import Database
from tests.conftest import POLICY
from tests.fakes.slack_api import Call
from tests.harness import COORDINATION, STAKEHOLDERS, Harness

WEEKEND = """
[[freezes]]
environments = ["prod"]
every = "fri 16:00 - mon 08:00"
reason = "weekend"
timezone = "Europe/Berlin"
"""


@pytest.fixture
def policy_text() -> str:
    return POLICY + WEEKEND


@pytest.fixture
async def ctx(settings: Settings, policy: Policy) -> AsyncIterator[ServiceContext]:
    db = Database(settings.database_url)
    yield ServiceContext(db=db, policy=policy, settings=settings)
    await db.dispose()


def _to(channel: str) -> Callable[[Call], bool]:
    return lambda call: call.get("channel") == channel


def gate_facts(
    policy: Policy, found: list[ActiveFreeze], *, override: str | None = None, manager: bool = False
) -> GateFacts:
    prod = policy.environment("prod")
    assert prod is not None
    return GateFacts(
        ref="payments@2.4.0",
        status=Status.APPROVED,
        environment=prod,
        previous_environment="qa",
        deployed_to_previous=True,
        approvals=None,
        regression_passed_in_previous=None,
        freezes=found,
        override_reason=override,
        actor_is_release_manager=manager,
    )


async def test_only_release_managers_freeze_and_the_refusal_says_who(harness: Harness) -> None:
    response = await harness.reply(await harness.command("freeze prod now +2h quarter close", user="U0ALICE"))
    assert "Only release managers can freeze" in response["text"]
    assert "<@U0RM>" in response["text"]
    assert response["response_type"] == "ephemeral"
    listed = await harness.command_answer("freezes", user="U0ALICE")
    assert "No one-off freezes" in listed


async def test_one_off_freeze_is_announced_listed_found_and_refused_by_the_gate(
    harness: Harness, ctx: ServiceContext, policy: Policy
) -> None:
    answer = await harness.command_answer("freeze prod now +2h quarter close <!channel>", user="U0RM")
    assert "is frozen" in answer
    assert "freeze #1" in answer
    assert "&lt;!channel&gt;" in answer
    for channel in (COORDINATION, STAKEHOLDERS):
        posts = await harness.slack.wait_for("chat.postMessage", _to(channel))
        assert "quarter close" in posts[0].text_everywhere
        assert "<!channel>" not in posts[0].text_everywhere

    listed = await harness.command_answer("freezes", user="U0ALICE")
    assert "#1 prod" in listed
    assert "in force" in listed
    assert "weekend" in listed

    now = datetime.now(UTC)
    async with ctx.db.read() as session:
        found = await active_freezes(session, ctx, team_id=harness.team_id, environment="prod", at=now)
        in_qa = await active_freezes(session, ctx, team_id=harness.team_id, environment="qa", at=now)
        other_team = await active_freezes(session, ctx, team_id="T0OTHER", environment="prod", at=now)
    assert [f.freeze_id for f in found if f.freeze_id] == [1]
    assert in_qa == []
    assert all(f.freeze_id is None for f in other_team)
    one_off = next(f for f in found if f.freeze_id == 1)
    assert one_off.reason == "quarter close <!channel>"
    assert one_off.ends_at > now + timedelta(minutes=110)

    refusals = evaluate(gate_facts(policy, [one_off]))  # the weekend freeze may be on too, by the wall clock
    assert [r.gate for r in refusals] == ["freeze"]
    assert "prod is frozen" in mrkdwn(refusals[0].message)
    assert "quarter close" in mrkdwn(refusals[0].message)
    assert evaluate(gate_facts(policy, found, override="hotfix", manager=True)) == []
    (refused,) = evaluate(gate_facts(policy, [one_off], override="hotfix", manager=False))
    assert "only a release manager may override" in mrkdwn(refused.message)

    lifted = await harness.command_answer("unfreeze 1", user="U0RM")
    assert "Lifted freeze #1" in lifted
    again = await harness.command_answer("unfreeze 1", user="U0RM")
    assert "already lifted" in again
    async with ctx.db.read() as session:
        after = await active_freezes(session, ctx, team_id=harness.team_id, environment="prod", at=now)
    assert all(f.freeze_id is None for f in after)


async def test_recurring_weekend_freeze_is_found_and_refused(
    harness: Harness, ctx: ServiceContext, policy: Policy
) -> None:
    saturday = datetime(2026, 6, 13, 12, tzinfo=UTC)
    tuesday = datetime(2026, 6, 16, 12, tzinfo=UTC)
    async with ctx.db.read() as session:
        found = await active_freezes(session, ctx, team_id=harness.team_id, environment="prod", at=saturday)
        weekday = await active_freezes(session, ctx, team_id=harness.team_id, environment="prod", at=tuesday)
        dev = await active_freezes(session, ctx, team_id=harness.team_id, environment="dev", at=saturday)
    assert weekday == []
    assert dev == []
    (weekend,) = found
    assert weekend.reason == "weekend"
    assert weekend.ends_at == datetime(2026, 6, 15, 6, tzinfo=UTC)
    (refusal,) = evaluate(gate_facts(policy, found))
    assert "weekend" in mrkdwn(refusal.message)
    assert str(int(weekend.ends_at.timestamp())) in mrkdwn(refusal.message)


async def test_freeze_input_errors_name_the_fix(harness: Harness) -> None:
    assert "not an environment" in await harness.command_answer("freeze stage now +2h x", user="U0RM")
    assert "end after it starts" in await harness.command_answer("freeze prod +2h +1h x", user="U0RM")
    assert "not a time" in await harness.command_answer("freeze prod tomorrow +1h x", user="U0RM")
    assert "no freeze #99" in (await harness.command_answer("unfreeze 99", user="U0RM")).replace("There is ", "")
    assert "Only release managers can lift" in await harness.command_answer("unfreeze 1", user="U0BOB")


async def test_a_new_freeze_warns_the_windows_it_covers(harness: Harness) -> None:
    await harness.command_answer("propose payments 2.4.0 Faster checkout")
    await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == COORDINATION)
    await harness.command_answer("schedule payments@2.4.0 +3h 1h")
    answer = await harness.command_answer("freeze prod +2h +6h release train", user="U0RM")
    assert "1 planned window now falls inside it" in answer
    assert "payments@2.4.0" in answer
    await harness.slack.wait_for("chat.postMessage", lambda c: "now falls in freeze #1" in c.text_everywhere)
