"""Delivery you can trust: Slack errors, a SIGKILL after commit, and SIGTERM never lose or double a message."""

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.conftest import POLICY
from tests.fakes.slack_api import FakeSlack, Fault
from tests.harness import COORDINATION, Harness
from tests.process import AppProcess


def _cards(slack: FakeSlack, ref: str) -> list[object]:
    return [c for c in slack.posts(COORDINATION) if ref in c.text_everywhere]


async def test_429_then_two_500s_still_delivers_once(harness: Harness, slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", Fault(status=429, retry_after=1), Fault(status=500), Fault(status=500))
    answer = await harness.command("propose payments 2.4.0 Faster checkout")
    assert answer.status == 200
    await slack.wait_for("chat.postMessage", lambda c: "payments@2.4.0" in c.text_everywhere, timeout=20)
    await slack.settle(0.5)
    assert len(_cards(slack, "payments@2.4.0")) == 1
    assert slack.attempts["chat.postMessage"] == 4  # 429, 500, 500, then ok


async def test_permanent_error_is_retried_then_the_card_updates_in_place(harness: Harness, slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", Fault(error="not_in_channel"))
    await harness.command("propose payments 2.4.0 Faster checkout")
    posted = await slack.wait_for("chat.postMessage", lambda c: "payments@2.4.0" in c.text_everywhere, timeout=20)
    assert await harness.command_answer("cancel payments@2.4.0", user="U0ALICE")
    updates = await slack.wait_for("chat.update", lambda c: "cancelled" in c.text_everywhere)
    assert updates[-1]["ts"]
    assert updates[-1]["channel"] == COORDINATION
    assert len(posted) == 1


@pytest.fixture
async def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "shipmate.toml"
    path.write_text(POLICY)
    return path


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


@pytest.mark.fault
async def test_sigkill_after_commit_delivers_once_after_restart(
    database_url: str, slack: FakeSlack, policy_file: Path, http: ClientSession
) -> None:
    # Slack never answers the first process, so the message is committed and claimed but never sent. The fault is
    # that process's own (its calls carry "first"): a post still on its way when it dies hangs too, however late the
    # fake Slack reads it, and the restarted process is answered as usual.
    hung = asyncio.Event()
    slack.fail("chat.postMessage", Fault(until=hung, times=1_000, client="first"))
    app = AppProcess(database_url=database_url, slack_url=slack.url_for("first"), policy=policy_file)
    await app.start()
    try:
        harness = Harness(app.base_url, http, slack)
        answer = await harness.command("propose payments 2.4.0 Faster checkout")
        assert "Proposed" in (await harness.reply(answer))["text"]
        assert app.kill(signal.SIGKILL) == -signal.SIGKILL  # ...when the process dies mid-send.
        assert _cards(slack, "payments@2.4.0") == []

        app = AppProcess(database_url=database_url, slack_url=slack.url, policy=policy_file)
        await app.start()
        await slack.wait_for("chat.postMessage", lambda c: "payments@2.4.0" in c.text_everywhere, timeout=20)
        await slack.settle(1.0)
        assert len(_cards(slack, "payments@2.4.0")) == 1
    finally:
        app.stop()
        hung.set()  # the dead process's tries end before the fake Slack closes


async def test_sigterm_shuts_down_cleanly(
    database_url: str, slack: FakeSlack, policy_file: Path, http: ClientSession
) -> None:
    app = AppProcess(database_url=database_url, slack_url=slack.url, policy=policy_file)
    await app.start()
    try:
        async with http.get(app.base_url + "/readyz") as response:
            assert response.status == 200
            assert (await response.json())["database"] == "ok"
        harness = Harness(app.base_url, http, slack)
        await harness.command("propose payments 2.4.0 Faster checkout")
        await slack.wait_for("chat.postMessage", lambda c: "payments@2.4.0" in c.text_everywhere)
        assert app.kill(signal.SIGTERM) == 0
        assert "Traceback" not in app.output()
    finally:
        app.stop()
