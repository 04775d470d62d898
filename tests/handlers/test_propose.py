"""Proposing a release over signed HTTP, by command and by modal."""

import json

from bot.ids import INPUT, ActionId, BlockId, CallbackId
from tests.harness import COORDINATION, Harness, select_input, text_input


async def test_propose_posts_escaped_card_with_buttons(harness: Harness) -> None:
    answer = await harness.command("propose payments 2.4.0 Faster checkout <!channel>")
    assert answer.status == 200

    posts = await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == COORDINATION)
    card = posts[0]
    rendered = card.text_everywhere
    assert "payments@2.4.0" in rendered
    assert "<!channel>" not in rendered
    assert "&lt;!channel&gt;" in rendered
    action_ids = [
        element["action_id"] for block in card["blocks"] if block["type"] == "actions" for element in block["elements"]
    ]
    assert str(ActionId.APPROVE) in action_ids
    assert str(ActionId.REJECT) in action_ids

    reply = await harness.reply(answer)  # the answer is the ack itself
    assert "Proposed" in reply["text"]
    assert reply["response_type"] == "ephemeral"
    assert harness.slack.responses() == []


async def test_modal_path_creates_release(harness: Harness) -> None:
    answer = await harness.command("propose")
    assert answer.status == 200
    opened = await harness.slack.wait_for("views.open")
    assert opened[0]["view"]["callback_id"] == CallbackId.PROPOSE
    values = {
        BlockId.SERVICE: text_input("billing"),
        BlockId.VERSION: text_input("1.2.0"),
        BlockId.SUMMARY: text_input("Invoices in PDF & <b>HTML</b>"),
        BlockId.CHANGES: text_input("- feature: PDF\n- fix: rounding"),
        BlockId.RISK: select_input("high"),
        BlockId.ROLLBACK_PLAN: text_input("redeploy 1.1.9"),
    }
    submitted = await harness.submit_view(
        CallbackId.PROPOSE,
        {str(k): v for k, v in values.items()},
        user="U0ALICE",
        private_metadata=json.dumps({"channel_id": COORDINATION}),
    )
    assert submitted.status == 200
    assert submitted.text.strip() == ""
    card = await harness.slack.wait_for("chat.postMessage", lambda c: "billing@1.2.0" in c.text_everywhere)
    assert "&lt;b&gt;HTML&lt;/b&gt;" in card[0].text_everywhere
    listed = await harness.command_answer("show billing@1.2.0")
    assert "high" in listed
    assert "redeploy 1.1.9" in listed


async def test_modal_errors_show_under_the_field(harness: Harness) -> None:
    values = {
        str(BlockId.SERVICE): text_input("Billing!"),
        str(BlockId.VERSION): text_input("1.2.0"),
        str(BlockId.SUMMARY): text_input("x"),
        str(BlockId.RISK): select_input("low"),
    }
    answer = await harness.submit_view(CallbackId.PROPOSE, values, user="U0ALICE")
    assert answer.status == 200
    assert answer.json["response_action"] == "errors"
    assert str(BlockId.SERVICE) in answer.json["errors"]
    assert INPUT == "input"
    listed = await harness.command_answer("list")
    assert "No releases yet" in listed
