"""Deployments, regression sign-off, rollback and status over signed HTTP, as the issue's "Done means" lists."""

import asyncio

from bot.domain.policy import Policy
from bot.ids import ActionId
from tests.handlers.deploy_steps import (
    PROD_DEPLOYER,
    PROPOSER,
    RELEASE_MANAGER,
    deployments_of,
    live_version,
    propose_and_approve,
    ship_to_prod,
    thread_lines,
)
from tests.harness import COORDINATION, STAKEHOLDERS, Harness


async def test_prod_before_qa_is_refused_with_the_reason(harness: Harness, database_url: str, policy: Policy) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    assert "is live in *dev*" in await harness.command_answer("deploy payments@2.5.0 dev", user=PROPOSER)

    answer = await harness.command_answer("deploy payments@2.5.0 prod", user=PROD_DEPLOYER)

    assert "payments@2.5.0 cannot be deployed to prod yet" in answer
    assert "has not been deployed to qa yet" in answer
    assert "`/release deploy payments@2.5.0 qa`" in answer
    assert "needs a passed regression sign-off in qa" in answer
    assert [d.environment for d in await deployments_of(database_url, policy, "payments@2.5.0")] == ["dev"]
    assert await live_version(database_url, "payments", "prod") is None


async def test_unapproved_release_is_refused_for_prod_with_the_count(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 2.5.0 Faster checkout", user=PROPOSER)
    assert "You approved" in await harness.command_answer("approve payments@2.5.0", user="U0BOB")
    for env in ("dev", "qa"):
        await harness.command_answer(f"deploy payments@2.5.0 {env}", user=PROPOSER)
    await harness.command_answer("verify payments@2.5.0 qa passed", user="U0QA")

    answer = await harness.command_answer("deploy payments@2.5.0 prod", user=PROD_DEPLOYER)

    assert "has 1/2 approvals for prod" in answer
    assert "`/release approve payments@2.5.0`" in answer
    assert await live_version(database_url, "payments", "prod") is None


async def test_dev_qa_verify_prod_releases_and_tells_stakeholders(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    await propose_and_approve(harness, "payments@2.5.0", summary="Faster checkout <!channel>")

    await ship_to_prod(harness, "payments@2.5.0")

    recorded = await deployments_of(database_url, policy, "payments@2.5.0")
    assert [(d.environment, d.actor_id, d.outcome) for d in recorded] == [
        ("dev", PROPOSER, "succeeded"),
        ("qa", PROPOSER, "succeeded"),
        ("prod", RELEASE_MANAGER, "succeeded"),
    ]
    shown = await harness.command_answer("show payments@2.5.0")
    assert "released" in shown
    news = await harness.slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == STAKEHOLDERS and "now live" in c.text_everywhere
    )
    text = news[0].text_everywhere
    assert "payments 2.5.0 is now live in prod" in text
    assert "&lt;!channel&gt;" in text
    assert "<!channel>" not in text
    await thread_lines(harness, "deployed *payments@2.5.0* to *prod*")
    await thread_lines(harness, "signed off regression in *qa*: *passed*")
    status = await harness.command_answer("status payments")
    assert "`prod` *2.5.0*" in status
    assert "`qa` *2.5.0*" in status
    history = await harness.command_answer("history payments@2.5.0")
    assert "deployed it to prod" in history
    assert "moved it from in progress to released" in history


async def test_failed_verify_blocks_prod_until_a_later_pass(harness: Harness, database_url: str) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    for env in ("dev", "qa"):
        await harness.command_answer(f"deploy payments@2.5.0 {env}", user=PROPOSER)
    answer = await harness.command_answer("verify payments@2.5.0 qa failed login broken <@U0X>", user="U0QA")
    assert "*failed*" in answer
    assert "blocked" in answer
    await thread_lines(harness, "*failed*")

    refused = await harness.command_answer("deploy payments@2.5.0 prod", user=PROD_DEPLOYER)
    assert "needs a passed regression sign-off in qa before prod" in refused
    assert "The latest sign-off in qa failed" in refused
    assert "&lt;@U0X&gt;" in refused
    assert await live_version(database_url, "payments", "prod") is None

    await harness.command_answer("verify payments@2.5.0 qa passed fixed in env config", user="U0QA")
    assert "is live in *prod*" in await harness.command_answer("deploy payments@2.5.0 prod", user=PROD_DEPLOYER)
    assert await live_version(database_url, "payments", "prod") == "2.5.0"


async def test_rollback_restores_the_previous_version_and_tells_stakeholders(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    await propose_and_approve(harness, "payments@2.4.0", summary="Saved cards")
    await ship_to_prod(harness, "payments@2.4.0")
    await propose_and_approve(harness, "payments@2.5.0", summary="Faster checkout")
    await ship_to_prod(harness, "payments@2.5.0")
    assert await live_version(database_url, "payments", "prod") == "2.5.0"

    answer = await harness.command_answer("rollback payments prod checkout errors <b>spiked</b>", user=PROD_DEPLOYER)

    assert "2.5.0 → *2.4.0*" in answer
    assert await live_version(database_url, "payments", "prod") == "2.4.0"
    prod = [d for d in await deployments_of(database_url, policy, "payments@2.5.0") if d.environment == "prod"]
    assert prod[0].rolled_back_at is not None
    assert prod[0].rolled_back_by == PROD_DEPLOYER
    assert prod[0].rollback_reason == "checkout errors <b>spiked</b>"
    news = await harness.slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == STAKEHOLDERS and "rolled back" in c.text_everywhere
    )
    told = news[0].text_everywhere
    assert "payments was rolled back in prod" in told
    assert "*Why:* checkout errors &lt;b&gt;spiked&lt;/b&gt;" in told
    assert "*Live now:* version 2.4.0 (Saved cards)" in told
    shown = await harness.command_answer("show payments@2.5.0")
    assert "rolled back" in shown
    assert "⏪ prod" in shown
    await thread_lines(harness, "rolled back *prod* from 2.5.0 to 2.4.0")
    assert "rolled back prod to 2.4.0" in await harness.command_answer("history payments@2.5.0")
    assert "made it live again in prod" in await harness.command_answer("history payments@2.4.0")
    status = await harness.command_answer("status payments")
    assert "`prod` *2.4.0*" in status
    assert "`qa` *2.5.0*" in status  # only prod was rolled back

    refused = await harness.command_answer("deploy payments@2.5.0 prod", user=PROD_DEPLOYER)
    assert "payments@2.5.0 is rolled back, so it cannot be deployed" in refused


async def test_answers_show_the_release_environment_and_outcome_in_bold(harness: Harness) -> None:
    await propose_and_approve(harness, "payments@2.4.0", summary="Saved cards")
    for env in ("dev", "qa"):
        await harness.command_answer(f"deploy payments@2.4.0 {env}", user=PROPOSER)
    await propose_and_approve(harness, "payments@2.5.0")

    deployed = await harness.command_answer("deploy payments@2.5.0 dev", user=PROPOSER)
    assert "Recorded: *payments@2.5.0* is live in *dev*. " in deployed
    await harness.command_answer("deploy payments@2.5.0 qa", user=PROPOSER)
    verified = await harness.command_answer("verify payments@2.5.0 qa failed flaky", user="U0QA")
    assert "Recorded: regression in *qa* *failed* for *payments@2.5.0*. Promotion to prod is blocked" in verified
    rolled_back = await harness.command_answer("rollback payments qa flaky", user=RELEASE_MANAGER)
    assert "Rolled back *qa*: payments 2.5.0 → *2.4.0*. payments@2.5.0 is marked rolled back" in rolled_back

    assert "Proposed" in await harness.command_answer("propose payments 2.6.0 Coupons", user=PROPOSER)
    edited = await harness.command_answer("edit payments@2.6.0 summary Coupons at checkout", user=PROPOSER)
    assert "Updated *payments@2.6.0*." in edited
    assert "Cancelled *payments@2.6.0* (cancelled)." in await harness.command_answer("cancel payments@2.6.0")


async def test_rollback_with_no_earlier_version_is_refused(harness: Harness, database_url: str) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    await harness.command_answer("deploy payments@2.5.0 dev", user=PROPOSER)

    answer = await harness.command_answer("rollback payments dev it broke", user=PROPOSER)

    assert "no earlier version to roll back to" in answer
    assert await live_version(database_url, "payments", "dev") == "2.5.0"
    nothing = await harness.command_answer("rollback payments prod it broke", user=PROD_DEPLOYER)
    assert "Nothing of payments is live in prod" in nothing


async def test_deploy_button_deploys_the_next_environment_once(
    harness: Harness, database_url: str, policy: Policy
) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    cards = await harness.slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == COORDINATION and not c.get("thread_ts")
    )
    buttons = [
        element
        for block in cards[0]["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == ActionId.DEPLOY_NEXT
    ]
    assert buttons
    assert buttons[0]["text"]["text"] == "Deploy to dev"

    double_click = [harness.click_answer(ActionId.DEPLOY_NEXT, buttons[0]["value"], user=PROPOSER) for _ in range(2)]
    texts = [reply["text"] for reply in await asyncio.gather(*double_click)]
    assert any("is live in *dev*" in text for text in texts)
    assert any("already live in dev" in text for text in texts)
    assert [d.environment for d in await deployments_of(database_url, policy, "payments@2.5.0")] == ["dev"]
    updated = await harness.slack.wait_for("chat.update", lambda c: "Deploy to qa" in c.text_everywhere)
    assert "✅ dev" in updated[-1].text_everywhere


async def test_verify_needs_the_release_in_that_environment_and_a_verifier(harness: Harness) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    answer = await harness.command_answer("verify payments@2.5.0 qa passed", user="U0QA")
    assert "has not been deployed to qa" in answer
    assert "`/release deploy payments@2.5.0 qa`" in answer
    unknown = await harness.command_answer("deploy payments@2.5.0 staging", user=PROPOSER)
    assert "There is no environment `staging`" in unknown
    assert "dev → qa → prod" in unknown


async def test_status_shows_every_service_and_what_is_in_flight(harness: Harness) -> None:
    await propose_and_approve(harness, "payments@2.5.0")
    await harness.command_answer("deploy payments@2.5.0 dev", user=PROPOSER)
    assert "Proposed" in await harness.command_answer("propose billing 1.0.0 Invoices", user=PROPOSER)

    status = await harness.command_answer("status")

    assert "*payments*" in status
    assert "`dev` *2.5.0*" in status
    assert "2.5.0 in progress (reached dev)" in status
    assert "*billing*" in status
    assert "1.0.0 proposed" in status
    assert "Nothing of ledger" in await harness.command_answer("status ledger")
