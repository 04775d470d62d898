"""Two replicas on one database sending deploy requests: the first one's batch stalls past its lease in a slow
first send, the second claims the rows meanwhile, and the deploy request still reaches the CI exactly once (the
first replica re-checks its claim right before each send and skips what is no longer its own)."""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot import signing
from bot.domain.policy import Deployer, Policy, parse_policy
from bot.notify.dispatcher import Dispatcher
from bot.notify.pipeline_client import PipelineClient
from bot.notify.pipeline_sender import PipelineSender
from bot.services.deploys.deploy_requests import deployer_payload
from bot.settings import Settings
from storage.db import Database
from storage.models import DeploymentRequest, OutboxMessage, Release
from storage.repositories import outbox
from storage.types import utcnow
from tests.fakes.pipeline import FakePipeline
from tests.handlers.pipeline_steps import WEBHOOK_SECRET

TEAM = "T0TEAM"
SLOW = "/hooks/slow"


@pytest.fixture
def deployers(pipeline: FakePipeline) -> Policy:
    return parse_policy(
        f'[services.slow]\ndeploy = {{ webhook = "{pipeline.url}{SLOW}" }}\n'
        f'[services.payments]\ndeploy = {{ webhook = "{pipeline.ci_url}?token=t0k3n" }}\n'
    )


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[tuple[Database, Database]]:
    """Each replica has its own engine (its own connections), as two processes would."""
    one, two = Database(database_url), Database(database_url)
    yield one, two
    await one.dispose()
    await two.dispose()


def settings() -> Settings:
    return Settings(_env_file=None, shipmate_policy=Path("/none.toml"), shipmate_webhook_secret=WEBHOOK_SECRET)


async def request_deploy(db: Database, policy: Policy, service: str) -> int:
    """An open deploy request and its outbox row, as `/release deploy` writes them."""
    deployer = policy.deployer(service)
    assert deployer is not None
    async with db.transaction() as session:
        release = Release(
            team_id=TEAM, service=service, version="1.0.0", summary="s", proposer_id="U0A", channel_id="C0R"
        )
        session.add(release)
        await session.flush()
        request = DeploymentRequest(
            team_id=TEAM,
            request_id=uuid.uuid4().hex,
            release_id=release.pk,
            service=service,
            version="1.0.0",
            environment="dev",
            action="deploy",
            deployer="webhook",
            requested_by="U0A",
            deadline_at=utcnow() + timedelta(hours=1),
        )
        session.add(request)
        kind, payload = deployer_payload(deployer, request, release)
        outbox.enqueue(session=session, team_id=TEAM, kind=kind, payload=payload)
    async with db.read() as session:  # the message is written when its transaction commits
        newest = select(OutboxMessage.id).where(OutboxMessage.kind == kind).order_by(col(OutboxMessage.id).desc())
        return int((await session.exec(newest)).first() or 0)


def replica(db: Database, client: PipelineClient, policy: Policy, lease: float) -> Dispatcher:
    def deployer(_team: str, service: str) -> Deployer | None:
        return policy.deployer(service)

    return Dispatcher(db, PipelineSender(db, client, deployer), lease=timedelta(seconds=lease), poll_interval=0.05)


async def test_a_batch_stalled_past_its_lease_does_not_send_what_another_replica_claimed(
    replicas: tuple[Database, Database],
    pipeline: FakePipeline,
    deployers: Policy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    one_db, two_db = replicas
    slow_id = await request_deploy(one_db, deployers, "slow")
    payments_id = await request_deploy(one_db, deployers, "payments")
    pipeline.hang.add(SLOW)
    # Replica one's first send outlasts its 0.5 s lease (its client waits 30 s: what Settings refuses for a real
    # process, standing here for any stall: a paused VM, a blocked event loop).
    stalled, prompt = PipelineClient(settings(), timeout=30), PipelineClient(settings(), timeout=0.3)
    await stalled.start()
    await prompt.start()
    one = replica(one_db, stalled, deployers, lease=0.5)
    two = replica(two_db, prompt, deployers, lease=60)
    try:
        first_sweep = asyncio.create_task(one.dispatch_once())
        deadline = time.monotonic() + 10
        while SLOW not in pipeline.arrived:  # replica one claimed both rows and is in its slow first send
            assert time.monotonic() < deadline, "replica one never sent its first request"
            await asyncio.sleep(0.02)
        assert await two.dispatch_once() == 0  # both rows are replica one's while its lease runs

        taken = 0
        while taken < 2:  # the leases run out (the slow row's a little later: re-checked at its send): two takes both
            assert time.monotonic() < deadline, "replica two never took the rows over"
            taken += await two.dispatch_once()
            await asyncio.sleep(0.05)
        [sent] = await pipeline.wait_for(lambda r: r.path == "/hooks/shipmate")

        pipeline.hang.discard(SLOW)
        pipeline.answer_hung()  # replica one's slow send finally gets its answer, and it goes on with its batch
        assert await asyncio.wait_for(first_sweep, 10) == 2
        await pipeline.settle(0.5)
    finally:
        await stalled.close()
        await prompt.close()

    assert [r.path for r in pipeline.received].count("/hooks/shipmate") == 1  # exactly once, by replica two
    signing.verify(WEBHOOK_SECRET, sent.body, sent.headers, now=time.time())
    assert sent.query == "token=t0k3n"
    async with two_db.read() as session:
        rows = {m.id: m for m in (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()}
    assert (rows[payments_id].status, rows[payments_id].attempts) == ("sent", 0)
    # The slow request: replica two timed out on it and holds its retry; replica one's late success changes nothing
    # (its claim is gone), so the row stays replica two's to send again.
    slow = rows[slow_id]
    assert (slow.status, slow.attempts) == ("pending", 1)
    assert slow.last_error == "deploy_webhook: network: no answer within 0.3 s (TimeoutError)"
    assert any("went out after another process took its claim" in r.getMessage() for r in caplog.records)
    assert any(
        r.levelno == logging.INFO and f"outbox {payments_id} was claimed by another process" in r.getMessage()
        for r in caplog.records
    )
