"""Answers within the ack budget, in the ack; past it, "Working on it…" and one answer on response_url; past the
cap on work in flight, "busy" at once with nothing changed. A gate on a database call makes "slow" deterministic."""

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from bot.ids import ActionId
from bot.settings import Settings
from handlers.answering import BUSY, WORKING
from storage.repositories import releases as releases_repo
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.harness import COORDINATION, Harness

BUDGET = 1.0  # the held listeners below pass it by design; a quick answer on a loaded CI host must not
CAP = 3


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return make_settings(database_url, slack, shipmate_ack_budget=BUDGET, shipmate_max_in_flight=CAP)


class Gate:
    """Wraps a repository function: calls wait until `open()`; counts how many wait at once (at most)."""

    def __init__(self, function: Callable[..., Awaitable[Any]]) -> None:
        self.function = function
        self.opened = asyncio.Event()
        self.waiting = 0
        self.most = 0
        self.entered = asyncio.Condition()

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.waiting += 1
        self.most = max(self.most, self.waiting)
        async with self.entered:
            self.entered.notify_all()
        try:
            await self.opened.wait()
        finally:
            self.waiting -= 1
        return await self.function(*args, **kwargs)

    async def until_waiting(self, count: int) -> None:
        async with asyncio.timeout(10), self.entered:
            await self.entered.wait_for(lambda: self.waiting >= count)

    def open(self) -> None:
        self.opened.set()


@pytest.fixture
def slow_list(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate(releases_repo.recent_lines)
    monkeypatch.setattr(releases_repo, "recent_lines", gate)
    yield gate
    gate.open()


@pytest.fixture
def slow_lookup(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate(releases_repo.lock_by_id)
    monkeypatch.setattr(releases_repo, "lock_by_id", gate)
    yield gate
    gate.open()


async def test_a_quick_answer_is_the_ack_itself(harness: Harness) -> None:
    answer = await harness.command("list")
    assert answer.json["response_type"] == "ephemeral"
    assert "No releases yet" in answer.text
    await harness.slack.settle(0.3)
    assert harness.slack.responses() == []  # answered once, in the ack


async def test_past_the_budget_the_ack_says_working_and_the_answer_comes_once(
    harness: Harness, slow_list: Gate
) -> None:
    answer = await asyncio.wait_for(harness.command("list", reply_to="slow-list"), 5)  # not held by the work
    assert answer.status == 200
    assert answer.json == {"text": WORKING, "response_type": "ephemeral"}
    await slow_list.until_waiting(1)  # the ack went out while the work was still going (held until opened)
    slow_list.open()
    replies = await harness.slack.wait_for("response_url", lambda c: c.target == "slow-list")
    assert "No releases yet" in replies[0].text_everywhere
    assert replies[0]["response_type"] == "ephemeral"
    assert replies[0]["replace_original"] is False
    await harness.slack.settle(0.3)
    assert len(harness.slack.responses()) == 1


async def test_a_refusal_past_the_budget_reaches_the_person_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal is raised after "Working on it…" went out: it comes on response_url, once."""
    gate = Gate(releases_repo.lock)
    monkeypatch.setattr(releases_repo, "lock", gate)
    answer = await asyncio.wait_for(harness.command("cancel payments@9.9.9", reply_to="slow-cancel"), 5)
    assert answer.json["text"] == WORKING
    gate.open()
    replies = await harness.slack.wait_for("response_url", lambda c: c.target == "slow-cancel")
    assert "There is no release payments@9.9.9" in replies[0]["text"]
    assert replies[0]["response_type"] == "ephemeral"
    await harness.slack.settle(0.3)
    assert len(harness.slack.responses()) == 1


async def test_a_slow_click_is_acked_at_the_budget_and_answered_on_response_url(
    harness: Harness, slow_lookup: Gate
) -> None:
    await harness.command("propose payments 2.4.0 Faster checkout")
    card = await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == COORDINATION)
    value = next(b for b in card[0]["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    clicked = await asyncio.wait_for(harness.click(ActionId.APPROVE, value, user="U0BOB", reply_to="slow-click"), 5)
    assert clicked.status == 200
    assert clicked.text == ""  # Slack ignores a click's ack body
    await slow_lookup.until_waiting(1)  # acked while the click's work is held (a busy host may reach it late)
    slow_lookup.open()
    replies = await harness.slack.wait_for("response_url", lambda c: c.target == "slow-click")
    assert "You approved payments@2.4.0" in replies[0]["text"]
    await harness.slack.settle(0.3)
    assert len(harness.slack.responses()) == 1


async def test_past_the_cap_a_request_is_told_busy_and_changes_nothing(harness: Harness, slow_list: Gate) -> None:
    slow = [asyncio.create_task(harness.command("list")) for _ in range(CAP)]
    await slow_list.until_waiting(CAP)
    busy = await asyncio.wait_for(harness.command("propose payments 2.4.0 Faster checkout"), 5)
    assert busy.status == 200
    assert busy.json == {"response_type": "ephemeral", "text": BUSY}
    clicked = await harness.click(ActionId.APPROVE, "1", user="U0BOB", reply_to="busy-click")
    assert clicked.status == 200
    told = await harness.slack.wait_for("response_url", lambda c: c.target == "busy-click")
    assert told[0]["text"] == BUSY
    event = await harness.event({"type": "app_home_opened", "user": "U0BOB", "channel": "D0", "tab": "home"})
    assert event.status == 503  # Slack delivers the event again later
    slow_list.open()
    for answer in await asyncio.gather(*slow):
        assert "No releases yet" in json.dumps(await harness.reply(answer))
    assert "No releases yet" in await harness.command_answer("list")  # the propose was not taken
    assert slow_list.most == CAP


async def test_a_flood_keeps_work_in_flight_at_the_cap(harness: Harness, slow_list: Gate) -> None:
    """Memory stays bounded: however many arrive at once, at most CAP are worked on; the rest are told to retry."""
    flood = [asyncio.create_task(harness.command("list")) for _ in range(40)]
    await slow_list.until_waiting(CAP)
    done, _ = await asyncio.wait(flood, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    assert done  # the busy answers do not wait for the work in flight
    slow_list.open()
    answers = await asyncio.gather(*flood)
    texts = [(await harness.reply(answer))["text"] for answer in answers]
    assert slow_list.most == CAP
    assert texts.count(BUSY) == 40 - CAP
    assert sum("releases" in text.lower() for text in texts if text != BUSY) == CAP


async def test_an_unexpected_error_before_the_ack_is_answered_in_the_ack(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(**_kwargs: Any) -> Any:
        raise RuntimeError("the database fell over")

    monkeypatch.setattr(releases_repo, "recent_lines", broken)
    answer = await harness.command("list")
    assert answer.status == 200
    assert "Something went wrong on our side (error id" in answer.json["text"]
    assert answer.json["response_type"] == "ephemeral"
    await harness.slack.settle(0.3)
    assert harness.slack.responses() == []


async def test_in_a_crowded_process_a_write_that_cannot_start_soon_is_told_busy(
    harness: Harness, database_url: str, slow_list: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has one writer: with the writer held and half the cap taken, a new write answers "busy" within the
    budget (nothing changed) instead of queueing behind the others."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL writers do not queue behind one lock")
    held = Gate(releases_repo.insert_new)  # a proposal's first statement, in its transaction
    monkeypatch.setattr(releases_repo, "insert_new", held)
    first = asyncio.create_task(harness.command("propose payments 2.4.0 Holds the writer", reply_to="first"))
    await held.until_waiting(1)  # inside its transaction: the writer is taken
    reading = asyncio.create_task(harness.command("list"))
    await slow_list.until_waiting(1)  # two of three in flight: crowded
    busy = await asyncio.wait_for(harness.command("propose billing 1.0.0 Would queue"), 5)
    assert busy.json == {"text": BUSY, "response_type": "ephemeral"}
    held.open()
    slow_list.open()
    assert "Proposed" in (await harness.reply(await first))["text"]
    await reading
    listed = await harness.command_answer("list")
    assert "payments@2.4.0" in listed
    assert "billing" not in listed  # the busy one changed nothing
