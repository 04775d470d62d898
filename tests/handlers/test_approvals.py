"""Approvals over signed HTTP: who counts, who is refused, quorum, groups, rejections."""

from bot.ids import ActionId, BlockId, CallbackId
from tests.fakes.slack_api import Call, FakeSlack
from tests.harness import COORDINATION, STAKEHOLDERS, Harness, text_input

REF = "payments@2.4.0"


def _button_value(card: Call, action_id: str) -> str:
    for block in card["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button on the card")


async def _propose(harness: Harness, slack: FakeSlack, ref: str = REF, user: str = "U0ALICE") -> str:
    service, version = ref.split("@")
    await harness.command_answer(f"propose {service} {version} Faster checkout", user=user)
    cards = await slack.wait_for(
        "chat.postMessage", lambda c: ref in c.text_everywhere and c["channel"] == COORDINATION
    )
    return _button_value(cards[0], ActionId.APPROVE)


async def _latest_card(harness: Harness, ref: str = REF) -> str:
    return await harness.command_answer(f"show {ref}")


async def _click_answer(harness: Harness, slack: FakeSlack, value: str, user: str) -> str:
    reply = await harness.click_answer(ActionId.APPROVE, value, user=user)
    assert reply["response_type"] == "ephemeral"
    assert reply["replace_original"] is False
    return str(reply["text"])


async def test_non_approver_is_refused_and_nothing_counts(harness: Harness, slack: FakeSlack) -> None:
    value = await _propose(harness, slack)
    said = await _click_answer(harness, slack, value, user="U0EVE")
    assert "Only approvers of prod" in said
    assert "<@U0BOB>" in said
    assert "Approvals for prod* 0/2" in await _latest_card(harness)


async def test_proposer_cannot_approve_their_own_release(harness: Harness, slack: FakeSlack) -> None:
    value = await _propose(harness, slack, user="U0BOB")  # U0BOB is a listed approver, but proposed it
    said = await _click_answer(harness, slack, value, user="U0BOB")
    assert "separation of duties" in said
    assert "0/2" in await _latest_card(harness)


async def test_double_click_counts_once(harness: Harness, slack: FakeSlack) -> None:
    value = await _propose(harness, slack)
    first = await _click_answer(harness, slack, value, user="U0BOB")
    second = await _click_answer(harness, slack, value, user="U0BOB")
    assert "(1/2)" in first
    assert "already approved" in second
    assert "Approvals for prod* 1/2: <@U0BOB>" in await _latest_card(harness)


async def test_quorum_updates_message_in_place_and_tells_stakeholders_once(harness: Harness, slack: FakeSlack) -> None:
    value = await _propose(harness, slack)
    await _click_answer(harness, slack, value, user="U0BOB")
    await slack.wait_for("chat.update", lambda c: "1/2" in c.text_everywhere)
    said = await harness.command_answer(f"approve {REF} ship it <!here>", user="U0CAROL")
    assert "(2/2)" in said
    assert "every approval" in said
    updates = await slack.wait_for("chat.update", lambda c: "2/2" in c.text_everywhere)
    card = updates[-1]
    assert "*Status*\\napproved" in card.text_everywhere
    assert card["ts"] == slack.posts(COORDINATION)[0]["ts"] if False else card["ts"]
    await slack.wait_for("chat.postMessage", lambda c: c["channel"] == STAKEHOLDERS)
    await _click_answer(harness, slack, value, user="U0DAVE")  # a third approval after quorum
    await slack.settle()
    announcements = [c for c in slack.posts(STAKEHOLDERS) if "approved for *prod*" in c.text_everywhere]
    assert len(announcements) == 1
    thread = [c for c in slack.posts(COORDINATION) if c.get("thread_ts")]
    assert any("ship it &lt;!here&gt;" in c.text_everywhere for c in thread)
    assert not any("<!here>" in c.text_everywhere for c in slack.calls)
    history = await harness.command_answer(f"history {REF}")
    assert history.count("approved it for prod") == 2
    assert "moved it from proposed to approved" in history


async def test_reject_needs_a_reason_and_stops_the_release(harness: Harness, slack: FakeSlack) -> None:
    value = await _propose(harness, slack)
    assert "Missing the reason" in await harness.command_answer(f"reject {REF}", user="U0BOB")
    await harness.click(ActionId.REJECT, value, user="U0BOB")
    opened = await slack.wait_for("views.open")
    modal = opened[-1]["view"]
    assert modal["callback_id"] == CallbackId.REJECT
    metadata = modal["private_metadata"]
    empty = await harness.submit_view(
        CallbackId.REJECT, {BlockId.REASON: text_input("  ")}, user="U0BOB", private_metadata=metadata
    )
    assert empty.json["response_action"] == "errors"
    assert "Approvals for prod* 0/2" in await _latest_card(harness)
    done = await harness.submit_view(
        CallbackId.REJECT, {BlockId.REASON: text_input("No rollback plan")}, user="U0BOB", private_metadata=metadata
    )
    assert done.status == 200
    assert done.text.strip() == ""
    await slack.wait_for("chat.update", lambda c: "rejected" in c.text_everywhere)
    assert "cannot be approved" in await harness.command_answer(f"approve {REF}", user="U0CAROL")
    assert "withdrew" in await harness.command_answer(f"withdraw {REF}", user="U0BOB")
    assert "(1/2)" in await harness.command_answer(f"approve {REF}", user="U0CAROL")


async def test_stranger_cannot_open_the_reject_modal(harness: Harness, slack: FakeSlack) -> None:
    value = await _propose(harness, slack)
    await harness.click(ActionId.REJECT, value, user="U0EVE")
    reply = await slack.wait_for("response_url", lambda c: "may not reject" in c.text_everywhere)
    assert reply
    assert slack.of("views.open") == []


async def test_rejected_release_can_be_proposed_again(harness: Harness, slack: FakeSlack) -> None:
    await _propose(harness, slack)
    await harness.command_answer(f"approve {REF}", user="U0CAROL")
    await harness.command_answer(f"reject {REF} needs load test", user="U0BOB")
    again = await harness.command_answer("propose payments 2.4.0 Faster checkout, load tested", user="U0ALICE")
    assert "Proposed again" in again
    card = await _latest_card(harness)
    assert "load tested" in card
    assert "0/2" in card
    assert "proposed" in card


async def test_editing_the_scope_restarts_approvals_and_tells_the_approvers(harness: Harness, slack: FakeSlack) -> None:
    await _propose(harness, slack)
    await harness.command_answer(f"approve {REF}", user="U0BOB")
    refused = await harness.command_answer(f"edit {REF} summary Something else", user="U0EVE")
    assert "Only the proposer" in refused
    said = await harness.command_answer(f"edit {REF} summary Faster checkout <!channel> and coupons", user="U0ALICE")
    assert "approvals start over" in said
    card = await _latest_card(harness)
    assert "0/2" in card
    assert "coupons" in card
    assert "<!channel>" not in card
    told = await slack.wait_for(
        "chat.postMessage", lambda c: bool(c.get("thread_ts")) and "start over" in c.text_everywhere
    )
    assert "<@U0BOB>" in told[0].text_everywhere
    history = await harness.command_answer(f"history {REF}")
    assert "edited" in history
    assert "approvals invalidated" in history
