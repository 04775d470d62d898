"""Locks and their queues across processes, over signed HTTP: two app instances on one database end a lock exactly
once and hand it to the next in the queue with a DM; "Pass" hands it on, "Take it" takes it; a lock that runs out
while no process runs is ended once by the next process to start."""

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.domain.policy import Policy
from bot.ids import ActionId
from bot.server import create_app
from bot.settings import Settings
from storage.db import Database
from storage.models import AuditEvent, DeployLock
from tests.fakes.slack_api import Call, FakeSlack
from tests.harness import Harness


class Replicas:
    """App instances on one database, each with its own scheduler; start and stop them at will."""

    def __init__(self, settings: Settings, policy: Policy, slack: FakeSlack, http: ClientSession) -> None:
        self.settings, self.policy, self.slack, self.http = settings, policy, slack, http
        self.servers: list[TestServer] = []

    async def start(self) -> Harness:
        server = TestServer(create_app(self.settings, self.policy), host="127.0.0.1")
        await server.start_server()
        self.servers.append(server)
        return Harness(str(server.make_url("/")), self.http, self.slack)

    async def stop(self, index: int) -> None:
        await self.servers[index].close()

    async def close(self) -> None:
        for server in self.servers:
            await server.close()


@pytest.fixture
async def replicas(settings: Settings, policy: Policy, slack: FakeSlack) -> AsyncIterator[Replicas]:
    async with ClientSession() as http:
        running = Replicas(settings, policy, slack, http)
        yield running
        await running.close()
    assert not slack.invalid, f"the app sent invalid Block Kit: {slack.invalid}"


def _dm_to(user: str, text: str) -> Callable[[Call], bool]:
    return lambda call: call.get("channel") in (user, "D" + user[1:]) and text in call.text_everywhere


def _button(call: Call, action_id: str) -> str:
    for block in call.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button in {call.text_everywhere}")


async def _audit(settings: Settings, action: str) -> list[AuditEvent]:
    db = Database(settings.database_url)
    try:
        async with db.read() as session:
            return list((await session.exec(select(AuditEvent).where(AuditEvent.action == action))).all())
    finally:
        await db.dispose()


async def test_two_replicas_end_a_lock_once_and_the_queue_hands_it_on(
    replicas: Replicas, slack: FakeSlack, settings: Settings
) -> None:
    one, two = await replicas.start(), await replicas.start()
    assert "You locked" in await one.command_answer("lock payments dev short job for 4s", user="U0BOB")
    carol = await two.command_answer("lock payments dev hotfix", user="U0CAROL")
    assert "You are number 1 in the queue" in carol
    dave = await one.command_answer("lock payments dev coupons for 1h", user="U0DAVE")
    assert "You are number 2 in the queue" in dave
    listed = await two.command_answer("locks", user="U0ERIN")
    assert "Queue: <@U0CAROL>, <@U0DAVE>" in listed

    [offer] = await slack.wait_for("chat.postMessage", _dm_to("U0CAROL", "is yours for 2h"), timeout=15)
    await slack.settle(1.0)
    assert len(await _audit(settings, "lock_ended")) == 1
    assert len([c for c in slack.posts() if _dm_to("U0CAROL", "is yours")(c)]) == 1
    assert len([c for c in slack.posts() if _dm_to("U0BOB", "ran out")(c)]) == 1

    passed = await two.click_answer(ActionId.LOCK_PASS, _button(offer, ActionId.LOCK_PASS), user="U0CAROL")
    assert "You passed on payments dev. It is offered to <@U0DAVE>." in passed["text"]
    [offer] = await slack.wait_for("chat.postMessage", _dm_to("U0DAVE", "is yours for 1h"), timeout=10)
    taken = await one.click_answer(ActionId.LOCK_TAKE, _button(offer, ActionId.LOCK_TAKE), user="U0DAVE")
    assert "You took payments dev until" in taken["text"]
    twice = await two.click_answer(ActionId.LOCK_TAKE, _button(offer, ActionId.LOCK_TAKE), user="U0DAVE")
    assert "no longer offered to you" in twice["text"]
    assert "held by <@U0DAVE>" in await two.command_answer("locks", user="U0ERIN")


async def test_a_lock_that_runs_out_while_no_process_runs_ends_once_after_the_restart(
    replicas: Replicas, slack: FakeSlack, settings: Settings
) -> None:
    first = await replicas.start()
    assert "You locked" in await first.command_answer("lock * dev incident for 2s", user="U0BOB")
    await replicas.stop(0)
    await asyncio.sleep(2.5)
    db = Database(settings.database_url)
    try:
        async with db.read() as session:
            [lock] = (await session.exec(select(DeployLock))).all()
        assert lock.state == "held"  # nobody ran its expiry while it was down
    finally:
        await db.dispose()

    await replicas.start()
    await slack.wait_for("chat.postMessage", _dm_to("U0BOB", "ran out"), timeout=15)
    await slack.settle(1.0)
    [ended] = await _audit(settings, "lock_ended")
    assert ended.details["ending"] == "expired"
    assert len([c for c in slack.posts() if _dm_to("U0BOB", "ran out")(c)]) == 1
