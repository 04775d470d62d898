"""`auto_rollback` with a fake deployer: an alert still firing after `rollback_grace` requests exactly one rollback
(`"action": "rollback"`) however often Alertmanager re-sends the group and with two replicas; a flapping alert that
resolves within the grace rolls nothing back; "dry-run" requests none and says in the thread what it would do;
a service without a deployer has the rollback recorded as needed and its deployers paged."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlmodel import col, select

from bot.domain.policy import parse_policy
from bot.ids import BlockId, CallbackId
from bot.server import DISPATCHER, create_app
from storage.db import Database
from storage.models import Alert, ScheduledJob
from tests.conftest import make_settings
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import FakeSlack
from tests.handlers.alert_steps import ALERTS_TOKEN, DEPLOYER, alertmanager, policy, post_alerts
from tests.handlers.deploy_steps import PROPOSER, hook_body, live_version, post_hook, thread_lines
from tests.handlers.pipeline_steps import gate, gate_body
from tests.harness import Harness, text_input

GRACE = timedelta(seconds=3)  # rollback_grace = "3s": the scenarios run within seconds of it


async def _live(harness: Harness, version: str) -> None:
    """CI reports `payments@version` live in dev, qa and prod (the pipeline's deployments, as CI records them)."""
    answer = await harness.command_answer(f"propose payments {version} Faster checkout", user=PROPOSER)
    assert "Proposed" in answer, answer
    for env in ("dev", "qa", "prod"):
        body = hook_body(version=version, environment=env, delivery_id=f"run-{version}-{env}")
        recorded = await post_hook(harness, body)
        assert recorded.status == 201, recorded.text


def _policy(auto: str, pipeline: FakePipeline | None) -> str:
    deployer = f'\n[services.payments]\ndeploy = {{ webhook = "{pipeline.ci_url}" }}\n' if pipeline else ""
    return policy(auto, grace="3s") + deployer


@pytest.fixture
def auto_setting() -> tuple[str, bool]:
    """The policy's `auto_rollback` for prod, and whether payments has a deployer (tests parametrize it)."""
    return "true", True


@pytest.fixture
async def pair(
    database_url: str, slack: FakeSlack, pipeline: FakePipeline, auto_setting: tuple[str, bool]
) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two replicas on one database."""
    auto, with_deployer = auto_setting
    rules = parse_policy(_policy(auto, pipeline if with_deployer else None))
    settings = make_settings(database_url, slack, shipmate_alerts_token=ALERTS_TOKEN)
    servers = [TestServer(create_app(settings, rules), host="127.0.0.1") for _ in "12"]
    for server in servers:
        await server.start_server()
    async with ClientSession() as session:
        yield (
            Harness(str(servers[0].make_url("/")), session, slack),
            Harness(str(servers[1].make_url("/")), session, slack),
        )
    for server in servers:
        server.app[DISPATCHER].stop()
    for server in servers:
        await server.close()
    assert not slack.invalid


async def _jobs(database_url: str) -> list[ScheduledJob]:
    db = Database(database_url)
    try:
        async with db.read() as session:
            query = select(ScheduledJob).where(ScheduledJob.kind == "alert_rollback").order_by(col(ScheduledJob.id))
            return list((await session.exec(query)).all())
    finally:
        await db.dispose()


async def _alerts(database_url: str) -> list[Alert]:
    db = Database(database_url)
    try:
        async with db.read() as session:
            return list((await session.exec(select(Alert).order_by(col(Alert.id)))).all())
    finally:
        await db.dispose()


async def _job_done(database_url: str) -> ScheduledJob:
    for _ in range(200):
        jobs = await _jobs(database_url)
        if jobs and all(job.status == "done" for job in jobs):
            return jobs[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the rollback job did not run: {await _jobs(database_url)}")


async def test_one_rollback_however_often_the_group_is_resent_and_with_two_replicas(
    pair: tuple[Harness, Harness], pipeline: FakePipeline, database_url: str
) -> None:
    one, two = pair
    await _live(one, "2.3.0")
    await _live(one, "2.4.0")
    started = datetime.now(UTC)  # the grace ends in 3 s
    body = alertmanager(name="HighErrorRate", starts_at=started)

    async def resend() -> None:  # Alertmanager re-sends the group every few seconds, to each replica
        for _ in range(8):
            await asyncio.gather(post_alerts(one, body), post_alerts(two, body))
            await asyncio.sleep(0.5)

    await resend()
    requests = await pipeline.wait_for(lambda r: r.json.get("action") == "rollback", timeout=15)
    await pipeline.settle(1.0)

    rollbacks = [r for r in pipeline.received if r.json.get("action") == "rollback"]
    assert len(rollbacks) == 1, [r.json for r in pipeline.received]
    assert requests[0].json | {"request_id": "…", "release_url": "…"} == {
        "action": "rollback",
        "service": "payments",
        "version": "2.3.0",
        "commit": None,
        "environment": "prod",
        "release_url": "…",
        "requested_by": "shipmate",
        "request_id": "…",
    }
    [alert] = await _alerts(database_url)
    assert alert.decision == "rollback_requested"
    await thread_lines(one, "Automatic rollback")
    await one.slack.settle(0.5)
    posted = [c for c in one.slack.of("chat.postMessage") if "*HighErrorRate* is firing" in c.text_everywhere]
    # the thread once, the proposer once (CI deployed it: no person to tell)
    assert sorted(c["channel"] for c in posted) == ["C0RELEASE", PROPOSER]
    assert len(await _jobs(database_url)) == 1
    # the version is held until someone who may deploy says "Not related": the gates say so to CI too
    held = await gate(one, gate_body(ref="payments@2.4.0", environment="prod"))
    assert held.status == 409, held.text
    assert "alerts" in [reason["gate"] for reason in held.json["reasons"]]
    # CI reports the rollback: 2.3.0 is live again, 2.4.0 is marked rolled back
    reported = await post_hook(
        one,
        hook_body(
            version="2.3.0", environment="prod", delivery_id="rollback-1", request_id=requests[0].json["request_id"]
        ),
    )
    assert reported.status == 201, reported.text
    assert await live_version(database_url, "payments", "prod") == "2.3.0"
    await thread_lines(one, "Post-release review of payments@2.4.0")  # the rollback starts the review
    metrics = await one.command_answer("metrics payments")
    assert "Alerts: 1 alert-driven rollback · 0 answered “Not related”" in metrics, metrics
    # the deployment counts as failed, and restored from the alert's startsAt to the rollback's deployment
    assert "*Change failure rate*\\n50%" in metrics, metrics
    assert "*Time to restore*\\nmedian under 1 min" in metrics
    assert "_1 restored_" in metrics


async def test_a_flapping_alert_that_resolves_within_the_grace_rolls_nothing_back(
    pair: tuple[Harness, Harness], pipeline: FakePipeline, database_url: str
) -> None:
    one, _two = pair
    await _live(one, "2.3.0")
    await _live(one, "2.4.0")
    started = datetime.now(UTC)
    await post_alerts(one, alertmanager(name="HighErrorRate", starts_at=started))
    await post_alerts(one, alertmanager("resolved", name="HighErrorRate", starts_at=started))

    job = await _job_done(database_url)

    assert job.last_error == "nothing to do"
    await pipeline.settle(0.5)
    assert [r for r in pipeline.received if r.json.get("action") == "rollback"] == []
    await thread_lines(one, "resolved")


@pytest.mark.parametrize("auto_setting", [('"dry-run"', True)])
async def test_dry_run_requests_nothing_and_says_what_it_would_do(
    pair: tuple[Harness, Harness], pipeline: FakePipeline, database_url: str
) -> None:
    one, _two = pair
    await _live(one, "2.3.0")
    await _live(one, "2.4.0")
    await post_alerts(one, alertmanager(name="HighErrorRate", starts_at=datetime.now(UTC)))

    [line] = await thread_lines(one, "Nothing was done")

    assert "ask the deployer (webhook) to roll back *prod* from 2.4.0 to 2.3.0" in line.text_everywhere
    assert "Nothing was done" in line.text_everywhere
    await _job_done(database_url)
    await pipeline.settle(0.5)
    assert pipeline.received == []
    [alert] = await _alerts(database_url)
    assert alert.decision == "dry_run"
    assert "is live in *prod*" not in await one.command_answer("deploy payments@2.4.0 prod", user=DEPLOYER)


@pytest.mark.parametrize("auto_setting", [("true", False)])
async def test_without_a_deployer_the_rollback_is_recorded_as_needed_and_deployers_paged(
    pair: tuple[Harness, Harness], pipeline: FakePipeline, database_url: str
) -> None:
    one, _two = pair
    await _live(one, "2.3.0")
    await _live(one, "2.4.0")
    await post_alerts(one, alertmanager(name="HighErrorRate", starts_at=datetime.now(UTC)))

    [line] = await thread_lines(one, "Rollback needed")

    assert "has no deployer" in line.text_everywhere
    await one.slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == DEPLOYER and "needs a rollback" in c.text_everywhere
    )
    [alert] = await _alerts(database_url)
    assert alert.decision == "rollback_needed"
    assert pipeline.received == []
    held = await gate(one, gate_body(ref="payments@2.4.0", environment="prod"))
    assert "alerts" in [reason["gate"] for reason in held.json["reasons"]], held.text

    # someone who may deploy says it is not related: the hold is lifted
    await one.submit_view(
        CallbackId.NOT_RELATED,
        {BlockId.REASON: text_input("a provider outage, not this release")},
        user=DEPLOYER,
        private_metadata=json.dumps({"alert_id": alert.id}),
    )
    await thread_lines(one, "a provider outage")
    allowed = await gate(one, gate_body(ref="payments@2.4.0", environment="prod"))
    assert allowed.status == 200, allowed.text
