"""SIGKILL and restart: the real CLI as a subprocess. A reminder that fell due while the process was dead is
delivered once after the restart (one message, not one per missed round), and none after approval."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.fakes.slack_api import FakeSlack
from tests.harness import COORDINATION, SECRET, Harness
from tests.process import free_port
from tests.review_support import FAST_POLICY

ROOT = Path(__file__).resolve().parents[2]


class App:
    """`python -m bot run` in a subprocess, started and SIGKILLed at will."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.port = env, port
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        command = [sys.executable, "-m", "bot", "run", "--mode", "http", "--port", str(self.port)]
        self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL)
        async with ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                        if response.status == 200:
                            return
                except OSError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError("the app did not become ready")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def app(tmp_path: Path, database_url: str, slack: FakeSlack) -> Iterator[App]:
    policy = tmp_path / "shipmate.toml"
    policy.write_text(FAST_POLICY, encoding="utf-8")
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.url,
        "DATABASE_URL": database_url,
        "SHIPMATE_POLICY": str(policy),
        "SHIPMATE_POLL_INTERVAL": "0.2",
        "SHIPMATE_SLACK_TIMEOUT": "2",
    }
    env.pop("SLACK_APP_TOKEN", None)
    process = App(env, free_port())
    yield process
    process.kill()


@pytest.fixture
async def harness(app: App, slack: FakeSlack) -> AsyncIterator[Harness]:
    async with ClientSession() as session:
        yield Harness(f"http://127.0.0.1:{app.port}", session, slack)


@pytest.mark.fault
async def test_overdue_reminder_arrives_once_after_sigkill_and_restart(app: App, harness: Harness) -> None:
    slack = harness.slack
    await app.start()
    answer = await harness.command("propose payments 2.4.0 Faster checkout", user="U0ALICE")
    assert answer.status == 200
    await slack.wait_for("chat.postMessage", lambda c: c.get("channel") == COORDINATION)
    app.kill()  # long before the first reminder (2s) is due

    await asyncio.sleep(5)  # two and a half reminder rounds pass while nothing runs
    await app.start()
    await slack.wait_for("chat.postMessage", lambda c: c.get("channel") == "U0BOB", timeout=20)
    await slack.wait_for("chat.postMessage", lambda c: c.get("channel") == "U0CAROL", timeout=5)
    await harness.command("approve payments@2.4.0", user="U0BOB")
    answer = await harness.command("approve payments@2.4.0", user="U0CAROL")
    assert "every approval it needs" in (await harness.reply(answer))["text"]

    await slack.settle(quiet=3.0)  # longer than a round: an approved release is not reminded
    assert len(slack.posts("U0BOB")) == 1
    assert len(slack.posts("U0CAROL")) == 1
    assert "payments@2.4.0" in slack.posts("U0BOB")[0].text_everywhere


@pytest.mark.fault
async def test_killed_mid_round_the_next_process_keeps_reminding(app: App, harness: Harness) -> None:
    slack = harness.slack
    await app.start()
    await harness.command("propose payments 2.4.0 Faster checkout", user="U0ALICE")
    await slack.wait_for("chat.postMessage", lambda c: c.get("channel") == "U0BOB", timeout=20)
    app.kill()
    await app.start()
    # The next round comes from the new process; the first was not sent again on top of it.
    await slack.wait_for("chat.postMessage", lambda c: c.get("channel") == "U0BOB", count=2, timeout=20)
    answer = await harness.command("approve payments@2.4.0", user="U0BOB")
    assert "You approved" in (await harness.reply(answer))["text"]
    bob = len(slack.posts("U0BOB"))
    await asyncio.sleep(3)  # Carol is still reminded (one approval short), Bob no more
    assert len(slack.posts("U0BOB")) == bob
    assert len(slack.posts("U0CAROL")) > 1
