"""Two workspaces installed through the OAuth flow, side by side, with the same release `payments@2.5.0` in each:
what one does through every surface (commands, buttons, the CI webhook, gate checks, the calendar feed, App Home)
never reads or changes the other's."""

import re

from bot.ids import ActionId
from tests.fakes.slack_api import Call, FakeSlack
from tests.handlers.deploy_steps import hook_body, post_hook
from tests.handlers.pipeline_steps import gate, gate_body
from tests.harness import Harness
from tests.workspaces.support import install, stored

A, B = "T0AAA", "T0BBB"
REF = "payments@2.5.0"


async def say(harness: Harness, team: str, text: str, user: str = "U0ALICE") -> str:
    answer = await harness.command(text, user=user, team_id=team)
    return str(await harness.reply(answer))


def button(card: Call, action_id: str) -> str:
    for block in card["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button on the card")


async def test_two_workspaces_never_see_or_change_each_others_releases(
    harness: Harness, slack: FakeSlack, database_url: str
) -> None:
    await install(harness, A)
    await install(harness, B)
    assert "Proposed" in await say(harness, A, "propose payments 2.5.0 Alpha rollout")
    assert "Proposed" in await say(harness, B, "propose payments 2.5.0 Bravo rollout")
    cards = await slack.wait_for("chat.postMessage", lambda c: REF in c.text_everywhere, count=2)
    card_of = {slack.tokens[card.token].team_id: card for card in cards}
    assert "Alpha" in card_of[A].text_everywhere
    assert "Bravo" in card_of[B].text_everywhere

    # Commands read their own workspace only.
    shown = await say(harness, B, f"show {REF}")
    assert "Bravo" in shown
    assert "Alpha" not in shown
    assert "Bravo" not in await say(harness, A, "list")

    # A button of A's card, clicked in B, approves nothing anywhere.
    harness.team_id = B
    reply = await harness.click_answer(ActionId.APPROVE, button(card_of[A], ActionId.APPROVE), user="U0BOB")
    assert "You approved" not in str(reply)
    assert await stored(database_url, "SELECT count(*) FROM approvals") == [(0,)]

    # The CI webhook records in the workspace it names, and only where Shipmate is installed.
    recorded = await post_hook(harness, hook_body(team_id=B, version="2.5.0", environment="dev"))
    assert recorded.status == 201, recorded.text
    assert await stored(database_url, "SELECT team_id, environment FROM deployments") == [(B, "dev")]
    foreign = await post_hook(harness, hook_body(team_id="T0ZZZ", version="2.5.0", delivery_id="run-9"))
    assert foreign.status == 403
    assert "not installed in the workspace T0ZZZ" in foreign.text

    # Gate checks judge the workspace's own release: B's is in dev, A's is not.
    in_b = await gate(harness, gate_body(REF, "qa", team_id=B))
    in_a = await gate(harness, gate_body(REF, "qa", team_id=A))
    assert in_b.json["allowed"] is True, in_b.text
    assert in_a.json["allowed"] is False, in_a.text

    # The calendar feed of A lists A's windows only.
    assert "is planned for" in await say(harness, A, f"schedule {REF} +2h")
    assert "is planned for" in await say(harness, B, f"schedule {REF} +3h")
    link = await say(harness, A, "calendar link", user="U0RM")
    found = re.search(r"/calendar\.ics\?token=[A-Za-z0-9_-]{40,}", link)
    assert found, link
    feed = await harness.get(found.group(0))
    assert feed.status == 200
    assert "Alpha" in feed.text
    assert "Bravo" not in feed.text

    # Delivery metrics: B ships to prod, A's figures stay empty.
    for approver in ("U0BOB", "U0CAROL"):
        assert "You approved" in await say(harness, B, f"approve {REF}", user=approver)
    assert "is live in *qa*" in await say(harness, B, f"deploy {REF} qa")
    assert "*passed*" in await say(harness, B, f"verify {REF} qa passed all green", user="U0QA")
    assert "is live in *prod*" in await say(harness, B, f"deploy {REF} prod", user="U0RM")
    assert "1 to production in 30 days" in await say(harness, B, "metrics 30")
    figures_of_a = await say(harness, A, "metrics 30")
    assert "All services · prod · last 30 days" in figures_of_a
    assert "1 to production" not in figures_of_a

    # App Home of B: published with B's token, about B's release.
    await harness.event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0HOME", "tab": "home"})
    home = (await slack.wait_for("views.publish"))[0]
    assert slack.tokens[home.token].team_id == B
    assert "Alpha" not in home.text_everywhere
