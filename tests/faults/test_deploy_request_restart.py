"""SIGKILL between the click and the send: the real CLI requests a deployment, dies before its deployer heard of
it, and the next process sends the request exactly once (the outbox row survived; the request id is the same)."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot import signing
from tests.conftest import POLICY
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import PROPOSER, propose_and_approve
from tests.handlers.pipeline_steps import WEBHOOK_SECRET, card_shows, requests_of
from tests.harness import Harness
from tests.process import AppProcess, free_port

CI_PORT = free_port()  # nothing listens here until the app has been killed


@pytest.fixture
def app(tmp_path: Path, database_url: str, slack: FakeSlack) -> Iterator[AppProcess]:
    policy = tmp_path / "shipmate.toml"
    policy.write_text(
        POLICY + f'\n[services.payments]\ndeploy = {{ webhook = "http://127.0.0.1:{CI_PORT}/hooks/shipmate" }}\n',
        encoding="utf-8",
    )
    process = AppProcess(
        database_url=database_url,
        slack_url=slack.url,
        policy=policy,
        extra_env={"SHIPMATE_WEBHOOK_SECRET": WEBHOOK_SECRET},
    )
    yield process
    process.stop()


@pytest.fixture
async def harness(app: AppProcess, slack: FakeSlack) -> AsyncIterator[Harness]:
    async with ClientSession() as session:
        yield Harness(app.base_url, session, slack)


async def test_request_killed_before_sending_is_sent_once_after_restart(
    app: AppProcess, harness: Harness, database_url: str
) -> None:
    await app.start()
    await propose_and_approve(harness, "payments@2.5.0")
    answer = await harness.command_answer("deploy payments@2.5.0 dev", user=PROPOSER)
    assert "Requested" in answer
    await card_shows(harness.slack, "Deploying to *dev*")
    await asyncio.sleep(0.5)  # the dispatcher tries and fails to reach the deployer
    app.kill()

    pipeline = FakePipeline()
    await pipeline.start(CI_PORT)
    try:
        await app.start()
        [sent] = await pipeline.wait_for(lambda r: r.path == "/hooks/shipmate", timeout=20)
        await pipeline.settle(2.0)
        assert len(pipeline.received) == 1
        signing.verify(WEBHOOK_SECRET, sent.body, sent.headers, now=time.time())
        [request] = await requests_of(database_url)
        assert sent.json["request_id"] == request.request_id
        assert sent.json["action"] == "deploy"
    finally:
        await pipeline.close()
