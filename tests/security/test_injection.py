"""mrkdwn and link injection: whatever people type in a free-text field reaches Slack inert.

Every free-text field that exists is filled with the same hostile text; then every call the app made to the
fake Slack (messages, updates, ephemeral answers, modals) and every HTTP answer is searched for it raw.
"""

import json

from bot.ids import ActionId, BlockId, CallbackId
from tests.fakes.slack_api import Call
from tests.harness import COORDINATION, Answer, Harness, select_input, text_input

HOSTILE = "ping <!channel> <!here> <@U123> <https://evil.example|click> R&D *bold*"
RAW = ("<!channel>", "<!here>", "<@U123>", "<https://evil", "R&D")
ESCAPED = ("&lt;!channel&gt;", "&lt;!here&gt;", "&lt;@U123&gt;", "&lt;https://evil.example|click&gt;", "R&amp;D")


def leaks(calls: list[Call], answers: list[Answer]) -> list[str]:
    seen = [call.text_everywhere for call in calls] + [answer.text for answer in answers]
    return [f"{token!r} in {text[:300]}" for text in seen for token in RAW if token in text]


async def test_hostile_text_in_every_field_reaches_slack_escaped(harness: Harness) -> None:
    answers: list[Answer] = []
    fields = {
        BlockId.SERVICE: text_input("billing"),
        BlockId.VERSION: text_input("1.2.0"),
        BlockId.SUMMARY: text_input("summary " + HOSTILE),
        BlockId.CHANGES: text_input("- changes " + HOSTILE),
        BlockId.RISK: select_input("high"),
        BlockId.ROLLBACK_PLAN: text_input("rollback " + HOSTILE),
    }
    metadata = json.dumps({"channel_id": COORDINATION})
    values = {str(k): v for k, v in fields.items()}
    answers.append(await harness.submit_view(CallbackId.PROPOSE, values, user="U0ALICE", private_metadata=metadata))
    cards = await harness.slack.wait_for("chat.postMessage", lambda c: "billing@1.2.0" in c.text_everywhere)
    release_id = next(b for b in cards[0]["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    # Each answer is awaited before the next command: the work happens after the ack.
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 " + HOSTILE)
    assert "You approved" in await harness.command_answer("approve billing@1.2.0 comment " + HOSTILE, user="U0BOB")
    assert "You rejected" in await harness.command_answer("reject payments@2.4.0 reason " + HOSTILE, user="U0CAROL")
    reason = {str(BlockId.REASON): text_input("modal reason " + HOSTILE)}
    answers.append(
        await harness.submit_view(
            CallbackId.REJECT, reason, user="U0DAVE", private_metadata=json.dumps({"release_id": int(release_id)})
        )
    )
    answers.append(await harness.click(ActionId.APPROVE, release_id, user="U0CAROL"))
    shown = [
        await harness.command_answer(text)
        for text in ("list", "list billing", "show billing@1.2.0", "history billing@1.2.0", "history payments@2.4.0")
    ]
    answers.append(await harness.command("show " + HOSTILE))
    answers.append(await harness.command(HOSTILE))
    await harness.slack.settle(0.3)

    assert all(answer.status == 200 for answer in answers)
    assert leaks(harness.slack.calls, answers) == []
    everything = "\n".join(call.text_everywhere for call in harness.slack.calls)
    for field in ("summary ", "- changes ", "rollback ", "comment ", "reason ", "modal reason "):
        assert field + HOSTILE.replace("<", "&lt;").replace(">", "&gt;").replace("R&D", "R&amp;D") in everything
    for token in ESCAPED:
        assert token in everything
    assert "*bold*" in shown[2]  # formatting people type is kept; only control characters are neutralised
    assert "comment" in shown[3]
    assert "reason" in shown[4]
