"""Two app instances on one database, approvers clicking at the same moment: exact counts, one transition,
one announcement. Looped, because races hide."""

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.domain.policy import Policy
from bot.ids import ActionId
from bot.server import create_app
from bot.settings import Settings
from tests.fakes.slack_api import Call, FakeSlack
from tests.harness import COORDINATION, STAKEHOLDERS, Harness

ROUNDS = {"postgresql": 20, "sqlite": 5}


def _in(ref: str, channel: str) -> Callable[[Call], bool]:
    return lambda call: call["channel"] == channel and ref in call.text_everywhere


@pytest.fixture
async def two_instances(settings: Settings, policy: Policy, slack: FakeSlack) -> AsyncIterator[tuple[Harness, Harness]]:
    servers = [TestServer(create_app(settings, policy), host="127.0.0.1") for _ in range(2)]
    for server in servers:
        await server.start_server()
    async with ClientSession() as session:
        one, two = (Harness(str(server.make_url("/")), session, slack) for server in servers)
        yield one, two
    for server in servers:
        await server.close()
    assert not slack.invalid


@pytest.mark.fault
async def test_concurrent_approvals_on_two_instances(
    two_instances: tuple[Harness, Harness], slack: FakeSlack, settings: Settings
) -> None:
    one, two = two_instances
    backend = "postgresql" if settings.database_url.startswith("postgresql") else "sqlite"
    for round_no in range(ROUNDS[backend]):
        ref = f"payments@1.0.{round_no}"
        await one.command_answer(f"propose payments 1.0.{round_no} Round {round_no}")
        cards = await slack.wait_for("chat.postMessage", _in(ref, COORDINATION))
        release_id = next(
            e["value"]
            for b in cards[0]["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == ActionId.APPROVE
        )
        clicks = [
            one.click(ActionId.APPROVE, release_id, user="U0BOB"),
            two.click(ActionId.APPROVE, release_id, user="U0BOB"),  # double click landing on the other instance
            one.click(ActionId.APPROVE, release_id, user="U0CAROL"),
            two.click(ActionId.APPROVE, release_id, user="U0CAROL"),
            two.click(ActionId.APPROVE, release_id, user="U0DAVE"),
            one.command(f"approve {ref}", user="U0DAVE"),
        ]
        answers = await asyncio.gather(*clicks)
        assert all(answer.status == 200 for answer in answers)
        await slack.wait_for("chat.postMessage", _in(ref, STAKEHOLDERS))
        await slack.settle(0.2)
        history = await one.command_answer(f"history {ref}")
        assert history.count("approved it for prod") == 2, history
        assert history.count("moved it from proposed to approved") == 1, history
        announced = [c for c in slack.posts(STAKEHOLDERS) if ref in c.text_everywhere]
        assert len(announced) == 1
        shown = await one.command_answer(f"show {ref}")
        assert "2/2" in shown
        assert "*Status*\\napproved" in shown
