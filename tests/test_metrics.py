"""`GET /metrics` after real scenarios: each counter moves by exactly what happened, the backlog gauges follow the
outbox, a scrape costs one aggregate query per family (then nothing while cached), and the token is enforced."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from bot.domain.policy import Policy
from bot.ids import ActionId
from bot.notify.slack_errors import WEB_API_METHODS
from bot.server import RUNTIME, Runtime, create_app
from bot.settings import Settings
from storage.db import Database
from storage.models import ScheduledJob
from storage.types import utcnow
from tests.conftest import make_settings
from tests.fakes.slack_api import TEAM_ID, FakeSlack, Fault
from tests.harness import COORDINATION, Harness
from tests.servers import serve

REF = "payments@2.4.0"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(harness: Harness, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with harness.http.get(harness.base_url + "/metrics", headers=headers) as response:
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
async def served(settings: Settings, policy: Policy, slack: FakeSlack) -> AsyncIterator[tuple[Harness, Runtime]]:
    app = create_app(settings, policy)
    async with serve(app, slack) as harness:
        yield harness, app[RUNTIME]


async def test_a_scenario_moves_each_counter_by_what_happened(
    served: tuple[Harness, Runtime], slack: FakeSlack, database_url: str
) -> None:
    harness, _runtime = served
    slack.fail("chat.postMessage", Fault(status=429, retry_after=1))  # slack_sdk waits it out, then the card goes
    slack.fail("chat.update", Fault(error="not_in_channel"))  # the first card update fails once, then goes
    before = await scrape(harness)

    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout")
    assert "no release" in (await harness.command_answer("show nope@1.0.0")).lower()
    card = await slack.wait_for("chat.postMessage", lambda c: REF in c.text_everywhere and not c.get("thread_ts"))
    approve = next(b for b in card[0]["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    await harness.click_answer(ActionId.APPROVE, approve, user="U0BOB")
    form = "application/x-www-form-urlencoded"
    forged = await harness.post_signed(b"command=%2Frelease&text=list", content_type=form, secret="not-the-secret")
    assert forged.status == 401
    await slack.wait_for("chat.update", lambda c: "1/2" in c.text_everywhere, timeout=15)
    await slack.settle(0.5)
    after = await scrape(harness)

    requests = "shipmate_slack_requests_total"
    assert moved(before, after, requests, surface="command", outcome="ok") == 1
    assert moved(before, after, requests, surface="command", outcome="refused") == 1
    assert moved(before, after, requests, surface="command", outcome="unauthorized") == 1
    assert moved(before, after, requests, surface="block_actions", outcome="ok") == 1
    assert moved(before, after, "shipmate_slack_ack_seconds_count", surface="command") == 3
    assert moved(before, after, "shipmate_slack_answer_seconds_count", surface="command") == 2
    assert moved(before, after, "shipmate_slack_answer_seconds_count", surface="block_actions") == 1

    posts, updates = len(slack.of("chat.postMessage")), len(slack.of("chat.update"))
    delivered = sum(moved(before, after, "shipmate_outbox_deliveries_total", kind=k) for k in ("card", "thread"))
    assert delivered == posts + updates  # every message the dispatcher sent, once
    assert moved(before, after, "shipmate_outbox_failures_total", kind="card", error="not_in_channel") == 1

    calls = "shipmate_slack_api_calls_total"
    assert moved(before, after, calls, method="chat.postMessage", status="ok") == posts
    assert moved(before, after, calls, method="chat.postMessage", status="ratelimited") == 1
    assert moved(before, after, calls, method="chat.update", status="not_in_channel") == 1
    assert moved(before, after, calls, method="chat.update", status="ok") == updates
    assert moved(before, after, "shipmate_slack_api_rate_limited_total", method="chat.postMessage") == 1
    assert moved(before, after, "shipmate_slack_api_retry_after_seconds_count", method="chat.postMessage") == 1
    assert moved(before, after, "shipmate_slack_api_retry_after_seconds_sum", method="chat.postMessage") == 1.0

    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    version = next(dict(labels)["version"] for name, labels in after if name == "shipmate_build_info")
    assert value(after, "shipmate_build_info", database=backend, version=version) == 1
    assert value(after, "shipmate_outbox_pending") == 0
    assert value(after, "shipmate_database_up") == 1
    assert any(name == "shipmate_db_pool_size" and value > 0 for (name, _labels), value in after.items())


async def test_job_claims_lag_and_failures_by_kind(served: tuple[Harness, Runtime], database_url: str) -> None:
    harness, runtime = served
    before = await scrape(harness)
    db = Database(database_url)
    try:
        async with db.transaction() as session:  # a kind no runner knows: claimed 30 s late, then it fails
            session.add(ScheduledJob(team_id=TEAM_ID, kind="mystery", due_at=utcnow() - timedelta(seconds=30)))
    finally:
        await db.dispose()
    runtime.metrics.cache_seconds = 0
    for _ in range(100):
        after = await scrape(harness)
        if moved(before, after, "shipmate_job_failures_total", kind="mystery"):
            break
        await asyncio.sleep(0.1)
    assert moved(before, after, "shipmate_job_claims_total", kind="mystery") == 1
    assert moved(before, after, "shipmate_job_failures_total", kind="mystery") == 1
    assert moved(before, after, "shipmate_job_claim_lag_seconds_count", kind="mystery") == 1
    assert moved(before, after, "shipmate_job_claim_lag_seconds_sum", kind="mystery") >= 30
    assert moved(before, after, "shipmate_job_claim_lag_seconds_bucket", kind="mystery", le="15.0") == 0
    assert moved(before, after, "shipmate_job_claim_lag_seconds_bucket", kind="mystery", le="60.0") == 1
    assert value(after, "shipmate_jobs_claimed") == 0  # back to pending with a backoff, not held


async def test_backlog_gauges_follow_the_outbox(served: tuple[Harness, Runtime], slack: FakeSlack) -> None:
    harness, runtime = served
    runtime.metrics.cache_seconds = 0
    released = asyncio.Event()
    slack.fail("chat.postMessage", Fault(status=200, until=released))  # Slack holds the card's answer
    await harness.command_answer("propose payments 2.4.0 Faster checkout")
    await asyncio.sleep(0.3)
    waiting = await scrape(harness)
    assert value(waiting, "shipmate_outbox_pending") == 1
    assert value(waiting, "shipmate_outbox_oldest_pending_age_seconds") > 0
    released.set()
    await slack.wait_for("chat.postMessage", lambda c: c.get("channel") == COORDINATION)
    for _ in range(50):
        done = await scrape(harness)
        if value(done, "shipmate_outbox_pending") == 0:
            break
        await asyncio.sleep(0.1)
    assert value(done, "shipmate_outbox_pending") == 0
    assert value(done, "shipmate_outbox_oldest_pending_age_seconds") == 0


async def test_a_scrape_costs_one_aggregate_per_family_then_nothing_while_cached(
    served: tuple[Harness, Runtime],
) -> None:
    harness, runtime = served
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "count(*)" in statement.lower():
            seen.append(statement)

    engine = runtime.db.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await scrape(harness)
        first = list(seen)
        await scrape(harness)
        await scrape(harness)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(first) == 2
    assert any("FROM outbox" in s for s in first)
    assert any("FROM scheduled_jobs" in s for s in first)
    assert seen == first  # cached: the next scrapes within 5 s query nothing


async def test_openmetrics_when_asked(harness: Harness) -> None:
    headers = {"Accept": "application/openmetrics-text; version=1.0.0"}
    async with harness.http.get(harness.base_url + "/metrics", headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        assert (await response.text()).endswith("# EOF\n")


async def test_the_token_is_enforced_when_set(database_url: str, slack: FakeSlack, policy: Policy) -> None:
    settings = make_settings(database_url, slack, shipmate_metrics_token="scrape-me")
    async with serve(create_app(settings, policy), slack) as harness:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-me"}):
            async with harness.http.get(harness.base_url + "/metrics", headers=headers) as response:
                assert response.status == 401
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                assert "shipmate_" not in await response.text()
        samples = await scrape(harness, token="scrape-me")
    assert ("shipmate_database_up", frozenset()) in samples


async def test_failed_file_uploads_are_counted_under_other_not_one_label_per_upload_url(
    served: tuple[Harness, Runtime], slack: FakeSlack
) -> None:
    """Each chart goes to an upload URL of its own (…/upload/F0…): labelled by it, /metrics would grow forever."""
    harness, runtime = served
    slack.fail("upload", Fault(status=500, times=100))
    before = await scrape(harness)

    for n in range(3):
        png = b"\x89PNG\r\n\x1a\n" + bytes(100 + n)
        uploaded = await runtime.services.files.upload_png(
            team_id="T0TEAM", png=png, filename=f"c{n}.png", title="t", alt_text="a"
        )
        assert uploaded is None  # the upload failed; the answer goes out without its chart
    after = await scrape(harness)

    calls = "shipmate_slack_api_calls_total"
    methods = {dict(labels)["method"] for name, labels in after if name == calls}
    assert methods <= WEB_API_METHODS | {"other"}, methods
    assert moved(before, after, calls, method="files.getUploadURLExternal", status="ok") == 3
    assert moved(before, after, calls, method="other", status="http_500") >= 3  # each upload URL, one label
    assert not any(file_id in str(labels) for _name, labels in after for file_id in slack.files)
