"""The post-release review over the real app: prompts after production, replies from the thread (edits,
deletions, Slack retries, bot messages), closing with a summary, and action items."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest

from bot.domain.lifecycle import Status
from bot.domain.policy import Policy
from bot.ids import INPUT, ActionId, BlockId, CallbackId
from bot.services.kernel.context import ServiceContext
from bot.settings import Settings
from storage.models import Review
from storage.repositories import reviews as reviews_repo
from tests.fakes.slack_api import TEAM_ID, Call
from tests.handlers.deploy_steps import propose_and_approve, ship_to_prod
from tests.handlers.test_home import open_home
from tests.harness import COORDINATION, STAKEHOLDERS, Harness, text_input
from tests.review_support import FAST_POLICY, posted_card, release, services_for


@pytest.fixture
def policy_text() -> str:
    return FAST_POLICY


@pytest.fixture
async def services(settings: Settings, policy: Policy) -> AsyncIterator[ServiceContext]:
    context = services_for(settings, policy)
    yield context
    await context.db.dispose()


async def _released(harness: Harness, services: ServiceContext) -> str:
    """payments@2.4.0 proposed by Alice, approved, deployed to prod; returns its thread ts."""
    await harness.command_answer("propose payments 2.4.0 Faster checkout", user="U0ALICE")
    await posted_card(services, "payments", "2.4.0")
    await harness.command_answer("approve payments@2.4.0", user="U0BOB")
    await harness.command_answer("approve payments@2.4.0", user="U0CAROL")
    await ship_to_prod(harness, "payments@2.4.0")
    found = await release(services, "payments", "2.4.0")
    assert found.message_ts
    return found.message_ts


def _in_thread(thread_ts: str, needle: str) -> Callable[[Call], bool]:
    return lambda c: c.get("thread_ts") == thread_ts and needle in c.text_everywhere


async def _review(services: ServiceContext) -> Review:
    found = await release(services, "payments", "2.4.0")
    async with services.db.read() as session:
        review = await reviews_repo.for_release(session=session, team_id=TEAM_ID, release_id=found.id or 0)
    assert review is not None
    return review


async def _replies_are(services: ServiceContext, expected: list[str]) -> None:
    """Wait until the review holds exactly these live replies (events are handled after Slack's ack)."""
    review = await _review(services)
    assert review.id is not None
    texts: list[str] = []
    for _ in range(200):
        async with services.db.read() as session:
            texts = [reply.text for reply in await reviews_repo.replies(session=session, review_id=review.id)]
        if texts == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the review's replies are {texts}, expected {expected}")


def _reply(thread_ts: str, ts: str, user: str, text: str) -> dict[str, object]:
    return {"type": "message", "channel": COORDINATION, "user": user, "text": text, "ts": ts, "thread_ts": thread_ts}


async def test_prod_deployment_prompts_review_and_close_summarises_replies_once(
    harness: Harness, services: ServiceContext
) -> None:
    thread = await _released(harness, services)
    prompt = await harness.slack.wait_for("chat.postMessage", _in_thread(thread, "Post-release review"))
    rendered = prompt[0].text_everywhere
    assert "<@U0ALICE>" in rendered  # the proposer facilitates
    assert "What went well?" in rendered
    assert str(ActionId.CLOSE_REVIEW) in rendered
    assert str(ActionId.ADD_ACTION_ITEM) in rendered

    first = _reply(thread, "1700000500.000001", "U0BOB", "1. Canary caught <!channel> nothing")
    await harness.event(first, event_id="EvReply1")
    await harness.event(first, event_id="EvReply1", retry=1)  # Slack retried: counted once
    await harness.event(_reply(thread, "1700000500.000002", "U0CAROL", "did not go well: slow approvals"))
    await harness.event(_reply(thread, "1700000500.000003", "U0DAVE", "3. automate the smoke test"))
    # An edit replaces the text; a deleted reply and bot messages never count.
    await harness.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": COORDINATION,
            "message": {**_reply(thread, "1700000500.000003", "U0DAVE", "3. automate the smoke tests")},
            "previous_message": _reply(thread, "1700000500.000003", "U0DAVE", "3. automate the smoke test"),
        }
    )
    await harness.event(_reply(thread, "1700000500.000004", "U0ERIN", "oops, wrong thread"))
    await harness.event(
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": COORDINATION,
            "deleted_ts": "1700000500.000004",
            "previous_message": _reply(thread, "1700000500.000004", "U0ERIN", "oops, wrong thread"),
        }
    )
    await harness.event({**_reply(thread, "1700000500.000005", "U0BOT", "Bot noise"), "bot_id": "B0BOT"})
    await _replies_are(
        services,
        ["1. Canary caught <!channel> nothing", "did not go well: slow approvals", "3. automate the smoke tests"],
    )

    review = await _review(services)
    denied = await harness.click(str(ActionId.CLOSE_REVIEW), str(review.release_id), user="U0BOB")
    assert denied.status == 200
    refusal = await harness.slack.wait_for("response_url", lambda c: "facilitator" in c.text_everywhere)
    assert refusal[0]["response_type"] == "ephemeral"

    await harness.click(str(ActionId.CLOSE_REVIEW), str(review.release_id), user="U0ALICE")
    posted = await harness.slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == STAKEHOLDERS and "Review of" in c.text_everywhere
    )
    summary = posted[0].text_everywhere
    for needle in ("Canary caught", "slow approvals", "automate the smoke tests"):
        assert json.loads(json.dumps(posted[0]["text"])).count(needle) == 1, needle
        assert needle in summary
    assert "&lt;!channel&gt;" in summary
    assert "<!channel>" not in summary
    assert "oops" not in summary
    assert "Bot noise" not in summary
    assert "automate the smoke test\u2014" not in summary
    # Grouped by prompt, with authors.
    text = posted[0]["text"]
    assert text.index("What went well?") < text.index("Canary caught") < text.index("What did not go well?")
    assert text.index("What did not go well?") < text.index("slow approvals") < text.index("What should we change")
    assert "<@U0BOB>" in text
    assert "<@U0CAROL>" in text
    assert "<@U0DAVE>" in text
    await harness.slack.wait_for("chat.postMessage", _in_thread(thread, "Review of"))

    closed = await release(services, "payments", "2.4.0")
    assert closed.status == Status.REVIEWED
    assert "slow approvals" in closed.review_summary
    assert (await _review(services)).status == "closed"
    history = await harness.command_answer("history payments@2.4.0")
    assert "review_closed" in history or "review" in history.lower()
    assert "<@U0BOB> was refused (close review)" in history  # the refused click is in the audit trail

    again = await harness.command_answer("review close payments@2.4.0", user="U0ALICE")
    assert "already closed" in again


async def test_rollback_starts_review_right_away_and_command_starts_early(
    harness: Harness, services: ServiceContext
) -> None:
    await harness.command_answer("propose payments 2.4.0 Faster checkout", user="U0ALICE")
    early = await harness.command_answer("review start payments@2.4.0", user="U0ALICE")
    assert "proposed" in early  # not released yet: refused with the reason
    await posted_card(services, "payments", "2.4.0")
    await propose_and_approve(harness, "payments@2.3.0")
    await ship_to_prod(harness, "payments@2.3.0")
    for approver in ("U0BOB", "U0CAROL"):
        await harness.command_answer("approve payments@2.4.0", user=approver)
    await ship_to_prod(harness, "payments@2.4.0")
    rolled = await harness.command_answer("rollback payments prod checkout errors", user="U0RM")
    assert "2.3.0" in rolled
    thread = (await release(services, "payments", "2.4.0")).message_ts or ""
    prompt = await harness.slack.wait_for("chat.postMessage", _in_thread(thread, "Post-release review"))
    assert "rolled back" in prompt[0].text_everywhere

    await propose_and_approve(harness, "billing@1.0.0", summary="Invoices")
    await posted_card(services, "billing", "1.0.0")
    await ship_to_prod(harness, "billing@1.0.0")
    started = await harness.command_answer("review start billing@1.0.0", user="U0ALICE")
    assert "Started the review" in started
    billing = (await release(services, "billing", "1.0.0")).message_ts or ""
    await harness.slack.wait_for("chat.postMessage", _in_thread(billing, "Post-release review"))
    await harness.slack.settle(quiet=3.0)  # the planned prompt (after 2s) does not come on top
    assert len([c for c in harness.slack.posts(COORDINATION) if _in_thread(billing, "Post-release review")(c)]) == 1


async def test_action_item_owner_is_reminded_and_marks_it_done(harness: Harness, services: ServiceContext) -> None:
    await _released(harness, services)
    refused = await harness.command_answer("action add payments@2.4.0 <@U0DAVE> +3s Fix the flaky test")
    assert "no review yet" in refused
    await harness.command_answer("review start payments@2.4.0", user="U0ALICE")

    added = await harness.command_answer("action add payments@2.4.0 <@U0DAVE> +3s Fix the <flaky> test")
    assert "Added action item #1" in added
    assigned = await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == "U0DAVE")
    assert "Fix the &lt;flaky&gt; test" in assigned[0].text_everywhere
    home = await open_home(harness, "U0DAVE")  # the owner's App Home lists it
    assert "Fix the &lt;flaky&gt; test" in str(home["view"])
    # Reminded before it is due and again once it is overdue.
    await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == "U0DAVE", count=3, timeout=15)
    overdue = await harness.slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == "U0DAVE" and "overdue" in c.text_everywhere, timeout=15
    )
    assert str(ActionId.ACTION_DONE) in overdue[0].text_everywhere

    listed = await harness.command_answer("actions mine", user="U0DAVE")
    assert "#1" in listed
    assert "Fix the" in listed
    nobody = await harness.command_answer("action done 1", user="U0ERIN")
    assert "Only" in nobody
    await harness.click(str(ActionId.ACTION_DONE), "1", user="U0DAVE", channel="D0DAVE")
    done = await harness.slack.wait_for("response_url", lambda c: "Marked action item #1 done" in c.text_everywhere)
    assert done[0]["response_type"] == "ephemeral"
    reminded = len(harness.slack.posts("U0DAVE"))
    await harness.slack.settle(quiet=3.0)
    assert len(harness.slack.posts("U0DAVE")) == reminded
    assert "Nothing open" in await harness.command_answer("actions", user="U0DAVE")


async def test_add_action_item_button_opens_modal_and_submission_adds_it(
    harness: Harness, services: ServiceContext
) -> None:
    await _released(harness, services)
    await harness.command_answer("review start payments@2.4.0", user="U0ALICE")
    review = await _review(services)
    await harness.click(str(ActionId.ADD_ACTION_ITEM), str(review.release_id), user="U0RM")
    opened = await harness.slack.wait_for("views.open")
    view = opened[0]["view"]
    assert view["callback_id"] == CallbackId.ACTION_ITEM
    values = {
        str(BlockId.OWNER): {INPUT: {"type": "users_select", "selected_user": "U0CAROL"}},
        str(BlockId.DUE): {INPUT: {"type": "datepicker", "selected_date": "2020-01-01"}},
        str(BlockId.TEXT): text_input("Write the runbook"),
    }
    past = await harness.submit_view(
        CallbackId.ACTION_ITEM, values, user="U0RM", private_metadata=view["private_metadata"]
    )
    assert past.json["response_action"] == "errors"
    assert str(BlockId.DUE) in past.json["errors"]
    values[str(BlockId.DUE)] = {INPUT: {"type": "datepicker", "selected_date": "2099-01-31"}}
    ok = await harness.submit_view(
        CallbackId.ACTION_ITEM, values, user="U0RM", private_metadata=view["private_metadata"]
    )
    assert ok.status == 200
    assert ok.text.strip() == ""
    dm = await harness.slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == "U0CAROL" and "runbook" in c.text_everywhere
    )
    assert "<@U0RM>" in dm[0].text_everywhere
    listed = await harness.command_answer("actions")
    assert "Write the runbook" in listed
    assert "<@U0CAROL>" in listed


async def test_action_items_come_from_the_facilitator_a_release_manager_or_someone_who_replied(
    harness: Harness, services: ServiceContext
) -> None:
    thread = await _released(harness, services)
    await harness.command_answer("review start payments@2.4.0", user="U0ALICE")
    rule = "Only the facilitator (<@U0ALICE>), a release manager or someone who replied in the review thread"
    refused = await harness.command_answer("action add payments@2.4.0 <@U0DAVE> +3d Add canary alerts", user="U0ERIN")
    assert rule in refused
    review = await _review(services)
    await harness.click(str(ActionId.ADD_ACTION_ITEM), str(review.release_id), user="U0ERIN")
    await harness.slack.wait_for("response_url", lambda c: rule in c.text_everywhere)
    assert harness.slack.of("views.open") == []  # refused before the modal opens

    await harness.event(_reply(thread, "1700000600.000001", "U0ERIN", "3. add canary alerts"))
    for _ in range(100):  # the reply is recorded after the event's ack
        async with services.db.read() as session:
            replies = await reviews_repo.replies(session=session, review_id=review.id or 0)
        if replies:
            break
        await asyncio.sleep(0.05)
    added = await harness.command_answer("action add payments@2.4.0 <@U0DAVE> +3d Add canary alerts", user="U0ERIN")
    assert "Added action item #1" in added
    by_manager = await harness.command_answer("action add payments@2.4.0 <@U0DAVE> +3d Page less", user="U0RM")
    assert "Added action item #2" in by_manager
    history = await harness.command_answer("history payments@2.4.0")
    assert history.count("was refused (add action item)") == 2
