"""Two app instances on one database taking the same flows at once: one release, exact approval counts,
each Slack message sent once although both dispatchers sweep the same outbox."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.domain.policy import Policy
from bot.ids import ActionId
from bot.server import DISPATCHER, create_app
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.harness import COORDINATION, Harness

REF = "payments@2.4.0"


@pytest.fixture
async def pair(database_url: str, slack: FakeSlack, policy: Policy) -> AsyncIterator[tuple[Harness, Harness]]:
    servers = [TestServer(create_app(make_settings(database_url, slack), policy), host="127.0.0.1") for _ in "12"]
    for server in servers:
        await server.start_server()
    async with ClientSession() as session:
        yield (
            Harness(str(servers[0].make_url("/")), session, slack),
            Harness(str(servers[1].make_url("/")), session, slack),
        )
    for server in servers:  # each instance waits for in-flight work at shutdown, the other's dispatcher included
        server.app[DISPATCHER].stop()
    for server in servers:
        await server.close()
    assert not slack.invalid


async def test_same_proposal_on_both_instances_makes_one_release(pair: tuple[Harness, Harness]) -> None:
    one, two = pair
    text = "propose payments 2.4.0 Faster checkout"
    answers = await asyncio.gather(*(h.command(text, user="U0ALICE") for h in (one, two, one, two, one, two)))
    assert [a.status for a in answers] == [200] * 6
    replies = [await one.reply(answer) for answer in answers]
    assert sum("Proposed" in r["text"] for r in replies) == 1
    assert sum("already exists" in r["text"] for r in replies) == 5
    await one.slack.wait_for("chat.postMessage", lambda c: REF in c.text_everywhere)
    await one.slack.settle(0.5)
    assert len([c for c in one.slack.posts(COORDINATION) if REF in c.text_everywhere]) == 1
    assert (await two.command_answer(f"history {REF}")).count("proposed it") == 1


async def test_approvals_through_both_instances_count_exactly(pair: tuple[Harness, Harness]) -> None:
    one, two = pair
    await one.command("propose payments 2.4.0 Faster checkout")
    card = await one.slack.wait_for("chat.postMessage", lambda c: REF in c.text_everywhere)
    value = next(b for b in card[0]["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    clicks = [h.click(ActionId.APPROVE, value, user=u) for u in ("U0BOB", "U0CAROL") for h in (one, two, one, two)]
    commands = [h.command(f"approve {REF}", user=u) for u in ("U0BOB", "U0CAROL") for h in (one, two)]
    answers = await asyncio.gather(*clicks, *commands)
    assert [a.status for a in answers] == [200] * 12
    clicked = await one.slack.wait_for("response_url", count=8, timeout=20)
    replies = [c.params for c in clicked] + [await one.reply(answer) for answer in answers[8:]]
    assert sum("You approved" in r["text"] for r in replies) == 2
    await one.slack.settle(0.5)

    thread = [c for c in one.slack.posts(COORDINATION) if c.get("thread_ts")]
    assert len([c for c in thread if "approved for" in c["text"]]) == 2
    assert len([c for c in one.slack.posts(COORDINATION) if not c.get("thread_ts")]) == 1
    assert len(one.slack.posts("C0STAKE")) == 1  # "approved for prod" told once
    shown = await two.command_answer(f"show {REF}")
    assert "2/2" in shown
    assert "(approved)" in shown
    history = await one.command_answer(f"history {REF}")
    assert history.count("approved it for prod") == 2
    assert history.count("to approved") == 1
    final = one.slack.of("chat.update")[-1].text_everywhere  # the message shows the last state, never an older one
    assert "2/2" in final
    assert "(approved)" in final
    approvals = [c["text"] for c in thread if "approved for" in c["text"]]
    assert "(1/2)" in approvals[0]
    assert "(2/2)" in approvals[1]  # the thread reads in the order things happened


async def test_release_messages_end_in_their_last_state(pair: tuple[Harness, Harness]) -> None:
    """Both dispatchers sweep at once; per release, Slack still sees the updates and replies in order."""
    one, two = pair
    refs = [f"svc{n}@1.0.0" for n in range(6)]
    await asyncio.gather(*(one.command(f"propose svc{n} 1.0.0 Parallel") for n in range(6)))
    cards = await one.slack.wait_for("chat.postMessage", lambda c: "Parallel" in c["text"], count=6)
    values = [next(b for b in c["blocks"] if b["type"] == "actions")["elements"][0]["value"] for c in cards]
    clicks = [(one, "U0BOB"), (two, "U0CAROL")]
    await asyncio.gather(*(h.click(ActionId.APPROVE, v, user=u) for v in values for h, u in clicks))
    await one.slack.wait_for("response_url", lambda c: "You approved" in c["text"], count=12, timeout=20)
    await one.slack.settle(0.5)
    for ref in refs:
        updates = [c.text_everywhere for c in one.slack.of("chat.update") if ref in c["text"]]
        assert "(approved)" in updates[-1], ref
        assert "2/2" in updates[-1], ref
    replies = [c["text"] for c in one.slack.posts(COORDINATION) if c.get("thread_ts") and "approved for" in c["text"]]
    assert len(replies) == 12
