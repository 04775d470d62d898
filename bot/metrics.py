"""Prometheus metrics, one registry per app (tests build many apps in one process), served at `GET /metrics`.

Counters and histograms are updated where things happen (Slack requests, Web API calls, deliveries, job claims);
the backlog gauges come from one aggregate query per family (outbox, jobs), cached for a few seconds, so a scrape
costs at most two small queries however often Prometheus asks.
"""

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from datetime import datetime
from importlib import metadata
from typing import Any

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.notify.slack_errors import web_api_method
from storage.db import Database
from storage.repositories import jobs, outbox
from storage.types import utcnow

log = logging.getLogger(__name__)

# Bolt context keys: when the request arrived, and whether a listener took it (and will count its outcome).
RECEIVED_AT = "shipmate_received_at"
LISTENER = "shipmate_listener"
OUTCOME = "shipmate_outcome"

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
LAG_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
RETRY_AFTER_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
INTERACTIVE = frozenset(
    {"block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion"}
)


def surface(body: MutableMapping[str, Any] | dict[str, Any]) -> str:
    """Which Slack surface a request came from: command, event, block_actions, view_submission, …"""
    if body.get("command"):
        return "command"
    kind = str(body.get("type") or "")
    if kind == "event_callback":
        return "event"
    return kind if kind in INTERACTIVE or kind == "url_verification" else "other"


def version() -> str:
    try:
        return metadata.version("shipmate")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


class Metrics:
    def __init__(self, db: Database, *, cache_seconds: float = 5.0) -> None:
        # The `_created` series double the output and nobody graphs them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.db = db
        self.cache_seconds = cache_seconds
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self._refreshed = float("-inf")
        self._refreshing = asyncio.Lock()
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}  # see `labelled`

        self.requests = Counter(
            "shipmate_slack_requests",
            "Requests from Slack by surface and outcome (ok, refused, error, unhandled, unauthorized, forbidden).",
            ["surface", "outcome"],
            registry=registry,
        )
        self.ack_seconds = Histogram(
            "shipmate_slack_ack_seconds",
            "Seconds from a Slack request's arrival to its acknowledgement (Slack waits 3 s).",
            ["surface"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.answer_seconds = Histogram(
            "shipmate_slack_answer_seconds",
            "Seconds from a Slack request's arrival until the work it started finished and its answer was sent.",
            ["surface"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

        self.outbox_pending = Gauge(
            "shipmate_outbox_pending", "Messages waiting to be sent to Slack.", registry=registry
        )
        self.outbox_oldest = Gauge(
            "shipmate_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting to be sent (0 when none waits).",
            registry=registry,
        )
        self.outbox_dead = Gauge(
            "shipmate_outbox_dead", "Messages given up on after repeated permanent errors.", registry=registry
        )
        self.alerts = Counter(
            "shipmate_alerts_received",
            "Alerts received on POST /hooks/alerts by what became of them (counted, outside_watch, resolved, "
            "duplicate, unknown_service, unknown_environment, no_service_label, no_environment_label).",
            ["outcome"],
            registry=registry,
        )
        self.deliveries = Counter(
            "shipmate_outbox_deliveries", "Outbox messages Slack accepted, by kind.", ["kind"], registry=registry
        )
        self.delivery_failures = Counter(
            "shipmate_outbox_failures",
            "Failed delivery attempts by kind and error (Slack's error code, http_NNN, timeout, network).",
            ["kind", "error"],
            registry=registry,
        )

        self.jobs_due = Gauge(
            "shipmate_jobs_due", "Scheduled jobs past their due time that no process has claimed.", registry=registry
        )
        self.jobs_claimed = Gauge(
            "shipmate_jobs_claimed", "Scheduled jobs claimed by some process right now.", registry=registry
        )
        self.jobs_lag = Gauge(
            "shipmate_jobs_lag_seconds",
            "How far the oldest due, unclaimed job is behind its due time (0 when none is due).",
            registry=registry,
        )
        self.job_claims = Counter(
            "shipmate_job_claims", "Scheduled jobs this process claimed, by kind.", ["kind"], registry=registry
        )
        self.job_claim_lag = Histogram(
            "shipmate_job_claim_lag_seconds",
            "Seconds from a job's due time to its claim, by kind.",
            ["kind"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.job_failures = Counter(
            "shipmate_job_failures", "Scheduled job runs that failed, by kind.", ["kind"], registry=registry
        )

        self.api_calls = Counter(
            "shipmate_slack_api_calls",
            "Slack Web API calls (every HTTP attempt) by method (one Shipmate calls, else other) and status (ok, "
            "Slack's error code, http_NNN, timeout, connection_error).",
            ["method", "status"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "shipmate_slack_api_rate_limited", "429 answers from the Slack Web API, by method.", ["method"],
            registry=registry,
        )  # fmt: skip
        self.retry_after = Histogram(
            "shipmate_slack_api_retry_after_seconds",
            "The Retry-After of Slack's 429 answers, by method.",
            ["method"],
            buckets=RETRY_AFTER_BUCKETS,
            registry=registry,
        )

        self.database_up = Gauge(
            "shipmate_database_up", "1 when the last backlog query succeeded, else 0.", registry=registry
        )
        pool_size = Gauge(
            "shipmate_db_pool_size", "Connections the pool keeps (without overflow).", ["engine"], registry=registry
        )
        in_use = Gauge("shipmate_db_pool_in_use", "Connections checked out now.", ["engine"], registry=registry)
        for name, engine in db.engines().items():
            pool_size.labels(name).set_function(_pool_reading(engine.pool, "size"))
            in_use.labels(name).set_function(_pool_reading(engine.pool, "checkedout"))
        Info("shipmate_build", "Shipmate's version and database backend.", registry=registry).info(
            {"version": version(), "database": db.dialect}
        )
        ProcessCollector(registry=registry)

    # -- Slack requests (bot/slack_app.ObservedApp, handlers/errors.answered) ----------------------------
    def acked(self, kind: str, context: MutableMapping[str, Any], status: int) -> None:
        """Bolt answered the request (the ack). Requests no listener took are counted here by their status."""
        received = float(context.get(RECEIVED_AT) or time.perf_counter())
        self.labelled(self.ack_seconds, kind).observe(time.perf_counter() - received)
        if context.get(LISTENER):
            return  # the listener counts its outcome when its work ends
        outcome = context.get(OUTCOME) or {401: "unauthorized", 403: "forbidden", 404: "unhandled"}.get(
            status, "ok" if status < 400 else "error"
        )
        self.labelled(self.requests, kind, outcome).inc()

    def answered(self, kind: str, context: MutableMapping[str, Any], outcome: str) -> None:
        received = float(context.get(RECEIVED_AT) or time.perf_counter())
        self.labelled(self.answer_seconds, kind).observe(time.perf_counter() - received)
        self.labelled(self.requests, kind, outcome).inc()

    def labelled(self, metric: Any, *values: str) -> Any:
        """`metric.labels(*values)`, looked up once per values (prometheus-client validates and locks each time)."""
        child = self._children.get((metric, values))
        if child is None:
            child = self._children[(metric, values)] = metric.labels(*values)
        return child

    # -- delivery and jobs -------------------------------------------------------------------------------
    def delivered(self, kind: str) -> None:
        self.deliveries.labels(kind).inc()

    def delivery_failed(self, kind: str, error: str) -> None:
        self.delivery_failures.labels(kind, error).inc()

    def claimed(self, claimed: Iterable[tuple[str, datetime]], now: datetime) -> None:
        for kind, due_at in claimed:
            self.job_claims.labels(kind).inc()
            self.job_claim_lag.labels(kind).observe(max(0.0, (now - due_at).total_seconds()))

    def job_failed(self, kind: str, count: int = 1) -> None:
        self.job_failures.labels(kind).inc(count)

    # -- scrape ------------------------------------------------------------------------------------------
    async def refresh(self) -> None:
        """The backlog gauges, from one aggregate per family, at most once per `cache_seconds`."""
        async with self._refreshing:
            if time.monotonic() - self._refreshed < self.cache_seconds:
                return
            now = utcnow()
            try:
                async with self.db.read() as session:
                    messages = await outbox.backlog(session=session)
                    scheduled = await jobs.backlog(session=session, now=now)
            except Exception as exc:  # a scrape still answers; the gauge says the database did not
                log.warning("metrics: backlog query failed (%s)", type(exc).__name__)
                self.database_up.set(0)
                return
            finally:
                self._refreshed = time.monotonic()
            self.database_up.set(1)
            self.outbox_pending.set(messages.pending)
            self.outbox_dead.set(messages.dead)
            self.outbox_oldest.set(_age(now, messages.oldest_pending))
            self.jobs_due.set(scheduled.due)
            self.jobs_claimed.set(scheduled.claimed)
            self.jobs_lag.set(_age(now, scheduled.oldest_due))

    def exposition(self, accept: str) -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


def _pool_reading(pool: Any, name: str) -> Callable[[], float]:
    """QueuePool's `size()`/`checkedout()`; pools without them (NullPool, StaticPool) read 0."""
    reading = getattr(pool, name, None)
    return (lambda: float(reading())) if callable(reading) else (lambda: 0.0)


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


class SlackApiObserver(AsyncRetryHandler):
    """Sees every Slack Web API answer without retrying anything: slack_sdk asks each retry handler about every
    HTTP attempt, and Bolt's per-request clients copy the app client's handlers, so every call is counted."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self.metrics = metrics

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = web_api_method(request.url)  # a file's upload URL is `other`, not a label of its own
        self.metrics.labelled(self.metrics.api_calls, method, api_status(response, error)).inc()
        if response is not None and response.status_code == 429:
            self.metrics.rate_limited.labels(method).inc()
            retry_after = _header(response.headers, "Retry-After")
            if retry_after is not None:
                with contextlib.suppress(ValueError):  # Retry-After may also be an HTTP date; Slack sends seconds
                    self.metrics.retry_after.labels(method).observe(float(retry_after))
        return False


def api_status(response: HttpResponse | None, error: Exception | None) -> str:
    """Slack's own words when it gave them (`ok`, `channel_not_found`, `ratelimited`), else the transport's."""
    if response is None:
        if isinstance(error, SlackApiError):  # an answer that was not JSON, e.g. a proxy's HTML 502
            # slack_sdk hands over aiohttp's own response then (`status`, not `status_code`)
            status = getattr(error.response, "status_code", None) or getattr(error.response, "status", "unknown")
            return f"http_{status}"
        return "timeout" if isinstance(error, TimeoutError) else "connection_error"
    body = response.body if isinstance(response.body, dict) else {}
    if body.get("ok") is True:
        return "ok"
    error_code = body.get("error")
    if isinstance(error_code, str) and error_code:
        return error_code[:60]
    return "ok" if 200 <= response.status_code < 300 else f"http_{response.status_code}"


def _header(headers: Mapping[str, list[str] | str] | None, name: str) -> str | None:
    for key, values in (headers or {}).items():
        if key.lower() == name.lower() and values:
            return str(values[0] if isinstance(values, list) else values)
    return None


def handler(metrics: Metrics, token: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`GET /metrics`: Prometheus text (or OpenMetrics when asked); behind a bearer token when one is set."""
    expected = f"Bearer {token}".encode()

    async def serve(request: web.Request) -> web.Response:
        # Header bytes that are not UTF-8 reach us as surrogates: compared as the bytes sent, never a 500.
        given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
        if token and not hmac.compare_digest(given, expected):
            return web.json_response(
                {"error": "metrics need 'Authorization: Bearer <SHIPMATE_METRICS_TOKEN>'"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="shipmate-metrics"'},
            )
        await metrics.refresh()
        body, content_type = metrics.exposition(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    return serve
