"""Who may do what, over signed HTTP: deployers, the proposer's own deployments and sign-offs, separation of
duties after an edit, and the same refusals on every path (command, Deploy button, App Home), each audited."""

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest
from sqlmodel import col, select

from bot.domain import scope
from bot.ids import ActionId, BlockId
from storage.db import Database
from storage.models import Approval, AuditEvent
from storage.repositories import releases as releases_repo
from tests.conftest import POLICY
from tests.fakes.slack_api import TEAM_ID, FakeSlack
from tests.handlers.deploy_steps import live_version, propose_and_approve
from tests.handlers.test_home import buttons, open_home
from tests.harness import COORDINATION, Harness

REF = "payments@2.4.0"
WITH_DEPLOYERS = POLICY.replace(
    'approvers = ["U0BOB", "U0CAROL", "U0DAVE", "S0RELMGR"]',
    'approvers = ["U0BOB", "U0CAROL", "S0RELMGR"]\ndeployers = ["U0DAVE", "S0ONCALL"]',
)
DEPLOYERS_NAMED = "deployers of prod (<@U0DAVE>, <!subteam^S0ONCALL>) or release managers (<@U0RM>)"


@pytest.fixture
def policy_text(request: pytest.FixtureRequest) -> str:
    assert WITH_DEPLOYERS != POLICY
    if "proposer_may_deploy" in request.node.name:
        return WITH_DEPLOYERS.replace("deployers = [", "proposer_may_deploy = true\ndeployers = [")
    return WITH_DEPLOYERS


@pytest.fixture(autouse=True)
def oncall(slack: FakeSlack) -> None:
    slack.usergroups["S0ONCALL"] = ["U0ONCALL"]


async def refusals(database_url: str) -> Sequence[AuditEvent]:
    """What the audit trail recorded as refused, read from the database."""
    db = Database(database_url)
    try:
        async with db.read() as session:
            query = (
                select(AuditEvent)
                .where(AuditEvent.team_id == TEAM_ID, AuditEvent.action == "refused")
                .order_by(col(AuditEvent.id))
            )
            return (await session.exec(query)).all()
    finally:
        await db.dispose()


async def release_id(database_url: str, ref: str) -> int:
    service, version = ref.split("@")
    db = Database(database_url)
    try:
        async with db.read() as session:
            found = await releases_repo.get(session=session, team_id=TEAM_ID, service=service, version=version)
    finally:
        await db.dispose()
    assert found is not None
    return found.pk


async def ready_for_prod(harness: Harness, ref: str, *, proposer: str = "U0ALICE") -> None:
    """Proposed by `proposer`, approved by Bob and Carol, in dev and qa, regression passed."""
    service, version = ref.split("@")
    assert "Proposed" in await harness.command_answer(f"propose {service} {version} Faster checkout", user=proposer)
    for approver in ("U0BOB", "U0CAROL"):
        assert "You approved" in await harness.command_answer(f"approve {ref}", user=approver)
    for env in ("dev", "qa"):  # no approvals needed there: anyone deploys, the proposer too
        assert f"is live in *{env}*" in await harness.command_answer(f"deploy {ref} {env}", user=proposer)
    assert "*passed*" in await harness.command_answer(f"verify {ref} qa passed", user="U0QA")


async def test_a_non_deployer_is_refused_by_name_and_audited_and_a_deployer_rolls_back(
    harness: Harness, database_url: str
) -> None:
    await ready_for_prod(harness, REF)
    refused = await harness.command_answer(f"deploy {REF} prod", user="U0BOB")  # an approver, not a deployer
    assert f"Only {DEPLOYERS_NAMED} may deploy to prod." in refused
    assert await live_version(database_url, "payments", "prod") is None
    assert "is live in *prod*" in await harness.command_answer(f"deploy {REF} prod", user="U0DAVE")

    await ready_for_prod(harness, "payments@2.5.0")
    assert "is live in *prod*" in await harness.command_answer("deploy payments@2.5.0 prod", user="U0ONCALL")
    refused = await harness.command_answer("rollback payments prod checkout errors", user="U0BOB")
    assert f"Only {DEPLOYERS_NAMED} may roll back prod." in refused
    assert await live_version(database_url, "payments", "prod") == "2.5.0"

    audited = await refusals(database_url)
    assert [(e.actor_id, e.details["action"], e.details["environment"]) for e in audited] == [
        ("U0BOB", "deploy", "prod"),
        ("U0BOB", "roll back", "prod"),
    ]
    assert audited[0].release_id == await release_id(database_url, REF)
    assert audited[1].release_id == await release_id(database_url, "payments@2.5.0")  # the one it would take out
    assert audited[1].details["reason"].startswith("Only deployers of prod (@U0DAVE, @S0ONCALL)")
    assert "was refused (roll back in prod)" in await harness.command_answer("history payments@2.5.0")

    # A deployer (through the on-call user group) rolls back: the previous version is live again.
    rolled = await harness.command_answer("rollback payments prod checkout errors", user="U0ONCALL")
    assert "2.5.0 → *2.4.0*" in rolled
    assert await live_version(database_url, "payments", "prod") == "2.4.0"


async def test_the_proposer_may_not_sign_off_their_own_release(harness: Harness, database_url: str) -> None:
    # qa has `regression_required` and no verifiers, like the built-in policy: anyone else signs off.
    await propose_and_approve(harness, REF)
    for env in ("dev", "qa"):
        await harness.command_answer(f"deploy {REF} {env}", user="U0ALICE")
    refused = await harness.command_answer(f"verify {REF} qa passed", user="U0ALICE")
    assert "You proposed payments@2.4.0, so someone else must sign off its regression in qa" in refused
    assert "*passed*" not in refused
    blocked = await harness.command_answer(f"deploy {REF} prod", user="U0DAVE")
    assert "needs a passed regression sign-off in qa" in blocked  # the refused sign-off counted for nothing
    assert [e.details["action"] for e in await refusals(database_url)] == ["sign off"]
    assert "*passed*" in await harness.command_answer(f"verify {REF} qa passed", user="U0QA")


async def test_the_proposer_may_not_deploy_their_own_release_where_approvals_are_needed(
    harness: Harness, database_url: str
) -> None:
    await ready_for_prod(harness, REF, proposer="U0DAVE")  # a deployer of prod proposes
    refused = await harness.command_answer(f"deploy {REF} prod", user="U0DAVE")
    assert "You proposed payments@2.4.0, so someone else must deploy it to prod" in refused
    assert DEPLOYERS_NAMED in refused
    assert await live_version(database_url, "payments", "prod") is None
    assert "is live in *prod*" in await harness.command_answer(f"deploy {REF} prod", user="U0ONCALL")


async def test_with_proposer_may_deploy_the_proposer_deploys_their_own_release(
    harness: Harness, database_url: str
) -> None:
    await ready_for_prod(harness, REF, proposer="U0DAVE")
    assert "is live in *prod*" in await harness.command_answer(f"deploy {REF} prod", user="U0DAVE")
    assert await live_version(database_url, "payments", "prod") == "2.4.0"
    refused = await harness.command_answer(f"deploy {REF} prod", user="U0BOB")
    assert f"Only {DEPLOYERS_NAMED} may deploy to prod." in refused  # the proposer's leave is not everyone's


async def _approvals(database_url: str, ref: str) -> Sequence[Approval]:
    db = Database(database_url)
    try:
        async with db.read() as session:
            query = select(Approval).where(Approval.team_id == TEAM_ID, Approval.release_id == await _id(session, ref))
            return (await session.exec(query.order_by(col(Approval.id)))).all()
    finally:
        await db.dispose()


async def _id(session: Any, ref: str) -> int:
    service, version = ref.split("@")
    found = await releases_repo.get(session=session, team_id=TEAM_ID, service=service, version=version)
    assert found is not None
    return found.pk


async def test_whoever_edited_cannot_approve_that_scope_not_even_a_release_manager(
    harness: Harness, database_url: str
) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout")
    assert "(1/2)" in await harness.command_answer(f"approve {REF}", user="U0RM")
    edited = await harness.command_answer(f"edit {REF} summary Faster checkout and coupons", user="U0RM")
    assert "approvals start over" in edited
    refused = await harness.command_answer(f"approve {REF}", user="U0RM")
    assert "You changed the scope of payments@2.4.0 (its summary) since it was proposed, so you may not" in refused
    assert "Approvals for prod* 0/2" in await harness.command_answer(f"show {REF}")

    assert "(1/2)" in await harness.command_answer(f"approve {REF}", user="U0BOB")
    # The proposer changes the risk: a new scope, approvals restart, and the release manager's edit still bars them.
    assert "approvals start over" in await harness.command_answer(f"edit {REF} risk high", user="U0ALICE")
    assert "(its summary) since it was proposed" in await harness.command_answer(f"approve {REF}", user="U0RM")
    assert "(1/2)" in await harness.command_answer(f"approve {REF}", user="U0CAROL")
    assert "Approvals for prod* 1/2: <@U0CAROL>" in await harness.command_answer(f"show {REF}")

    decisions = await _approvals(database_url, REF)
    assert [(a.user_id, a.scope_version, a.invalidated_at is None) for a in decisions] == [
        ("U0RM", 1, False),
        ("U0BOB", 2, False),
        ("U0CAROL", 3, True),
    ]
    assert len({a.scope_hash for a in decisions}) == 3
    history = await harness.command_answer(f"history {REF}")
    assert f"approved it for prod · scope v3 `{scope.short(decisions[-1].scope_hash or '')}`" in history
    assert "edited the risk · scope v3" in history
    assert "was refused (approve)" in history


async def test_editing_the_rollback_plan_or_the_risk_restarts_approvals(harness: Harness) -> None:
    await propose_and_approve(harness, REF)
    assert "*Status*\\napproved" in await harness.command_answer(f"show {REF}")
    said = await harness.command_answer(f"edit {REF} rollback redeploy 2.3.9", user="U0ALICE")
    assert "approvals start over" in said
    card = await harness.command_answer(f"show {REF}")
    assert "Approvals for prod* 0/2" in card
    assert "*Status*\\nproposed" in card
    await harness.slack.wait_for(
        "chat.postMessage",
        lambda c: bool(c.get("thread_ts")) and "rollback plan, so approvals start over" in c.text_everywhere,
    )
    assert "(1/2)" in await harness.command_answer(f"approve {REF}", user="U0BOB")
    assert "approvals start over" in await harness.command_answer(f"edit {REF} risk low", user="U0ALICE")
    assert "Approvals for prod* 0/2" in await harness.command_answer(f"show {REF}")
    wrong = await harness.command_answer(f"edit {REF} risk extreme", user="U0ALICE")
    assert "is not a risk level" in wrong
    assert "*Risk*\\nlow" in await harness.command_answer(f"show {REF}")


async def _deploy_button(harness: Harness, target: str) -> str:
    """The value of the card's `target` button, once a card showing it reached Slack (posted or updated: the
    outbox sends only the newest card, so either may carry it)."""
    for _ in range(200):
        for card in reversed([c for c in harness.slack.calls if c.method in ("chat.postMessage", "chat.update")]):
            for block in card.get("blocks") or []:
                for element in block.get("elements", []):
                    if element.get("action_id") == ActionId.DEPLOY_NEXT and element["text"]["text"] == target:
                        return str(element["value"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {target} button on any card")


async def test_the_deploy_button_is_refused_like_the_command(harness: Harness, database_url: str) -> None:
    await ready_for_prod(harness, REF)
    value = await _deploy_button(harness, "Deploy to prod")
    for user, expected in (
        ("U0ALICE", "You proposed payments@2.4.0, so someone else must deploy it to prod"),
        ("U0BOB", f"Only {DEPLOYERS_NAMED} may deploy to prod."),
    ):
        command = await harness.command_answer(f"deploy {REF} prod", user=user)
        clicked = await harness.click_answer(ActionId.DEPLOY_NEXT, value, user=user)
        assert expected in command
        assert expected in clicked["text"]
        assert clicked["response_type"] == "ephemeral"
    assert await live_version(database_url, "payments", "prod") is None
    assert [(e.actor_id, e.details["action"]) for e in await refusals(database_url)] == [
        ("U0ALICE", "deploy"),
        ("U0ALICE", "deploy"),
        ("U0BOB", "deploy"),
        ("U0BOB", "deploy"),
    ]
    clicked = await harness.click_answer(ActionId.DEPLOY_NEXT, value, user="U0DAVE")
    assert "is live in *prod*" in clicked["text"]


def _home_approve(harness: Harness, user: str, release: int) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": harness.team_id, "domain": "test"},
        "user": {"id": user, "username": user.lower(), "team_id": harness.team_id},
        "api_app_id": "A0APP",
        "token": "legacy",
        "trigger_id": f"trigger.{user}.{time.monotonic_ns()}",
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home", "blocks": []},
        "actions": [
            {
                "type": "button",
                "action_id": str(ActionId.APPROVE),
                "block_id": f"{BlockId.HOME_APPROVAL}:{release}",
                "value": str(release),
                "action_ts": str(time.time()),
            }
        ],
    }


async def test_app_home_neither_asks_nor_lets_the_editor_approve(harness: Harness, database_url: str) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout")
    await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == COORDINATION)
    pk = await release_id(database_url, REF)
    assert buttons((await open_home(harness, "U0RM"))["view"])  # asked, before the edit
    assert "Updated" in await harness.command_answer(f"edit {REF} changes Coupons too", user="U0RM")
    assert buttons((await open_home(harness, "U0RM"))["view"]) == []  # not asked to approve their own edit

    command = await harness.command_answer(f"approve {REF}", user="U0RM")
    published = len(harness.slack.of("views.publish"))
    assert (await harness.interactive(_home_approve(harness, "U0RM", pk))).status == 200
    homes = await harness.slack.wait_for("views.publish", count=published + 1)
    notice = homes[-1]["view"]["blocks"][0]["text"]["text"]
    expected = "You changed the scope of payments@2.4.0 (its list of changes) since it was proposed, so you may not"
    assert expected in command
    assert notice.startswith("⚠️ " + expected)
    assert "Approvals for prod* 0/2" in await harness.command_answer(f"show {REF}")
    assert [e.details["action"] for e in await refusals(database_url)] == ["approve", "approve"]


async def test_every_privileged_refusal_is_audited_and_changes_nothing(harness: Harness, database_url: str) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout")
    frozen = await harness.command_answer("freeze prod now +2h quarter close", user="U0RM")
    assert "quarter close" in frozen
    for command, says in (
        (f"cancel {REF}", "Only the proposer (<@U0ALICE>) or a release manager can cancel"),
        (f"edit {REF} summary Something else", "Only the proposer (<@U0ALICE>) or a release manager can edit"),
        (f"schedule {REF} +2h", "Only the proposer (<@U0ALICE>) or a release manager can schedule"),
        (f"reject {REF} not convinced", "You may not reject payments@2.4.0; only approvers of prod"),
        ("freeze qa now +1h because", "Only release managers can freeze an environment"),
        ("unfreeze 1", "Only release managers can lift a freeze"),
    ):
        assert says in await harness.command_answer(command, user="U0ZED"), command
    assert [e.details["action"] for e in await refusals(database_url)] == [
        "cancel",
        "edit",
        "schedule",
        "reject",
        "freeze an environment",
        "lift a freeze",
    ]
    card = await harness.command_answer(f"show {REF}")
    assert "*Status*\\nproposed" in card
    assert "Faster checkout" in card
    assert "quarter close" in await harness.command_answer("freezes")  # still in force
