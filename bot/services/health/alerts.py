"""Alerts in: what Alertmanager or Grafana says about a service in an environment (`POST /hooks/alerts`).

Each notification is received once on (fingerprint, startsAt, status), however often the group is re-sent or
however many replicas get it (the row's unique key decides). A firing alert for a service and environment within
the environment's `watch` of its live deployment counts against that release: its thread hears which alert fired
(with Roll back and Not related buttons), the deployer and the proposer get a DM, and with `auto_rollback` a job
looks again once `rollback_grace` has passed. A resolved alert is noted in the thread. Alerts whose labels name no
known service or environment are counted and ignored."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import health, policy_alerts
from bot.domain.change import Audit, Post, ReleaseChange, post
from bot.render import render, render_text
from bot.services.kernel import release_state
from bot.services.kernel.context import ServiceContext
from storage.models import Alert, Deployment, Release
from storage.repositories import alerts as alerts_repo
from storage.repositories import deployments as deployments_repo
from storage.repositories import jobs, outbox
from storage.repositories import releases as releases_repo

ALERT_ROLLBACK = "alert_rollback"  # job: target = the alert's id; due at startsAt + rollback_grace


@dataclass(frozen=True)
class Notice:
    """One alert of a notification, in the sender's words (labels kept as they came)."""

    status: str  # firing | resolved
    labels: dict[str, str]
    name: str
    summary: str
    starts_at: datetime
    ends_at: datetime | None
    fingerprint: str
    source_url: str | None
    source: str  # alertmanager | grafana


@dataclass
class Received:
    """What became of a notification's alerts (the webhook answers with it; the metrics count it)."""

    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def _where(ctx: ServiceContext, labels: dict[str, str]) -> tuple[str, str] | str:
    """(service, environment) named by the labels, or why the alert is ignored."""
    settings = ctx.policy.alerts
    service = labels.get(settings.service_label)
    value = labels.get(settings.environment_label)
    if not service:
        return "no_service_label"
    if not value:
        return "no_environment_label"
    environment = settings.environment_of(value)
    if ctx.policy.environment(environment) is None:
        return "unknown_environment"
    return service, environment


async def receive(ctx: ServiceContext, team_id: str, notices: Sequence[Notice]) -> Received:
    received = Received()
    for notice in notices:
        where = _where(ctx, notice.labels)
        if isinstance(where, str):
            received.add(where)
            continue
        service, environment = where
        async with ctx.db.transaction() as session:
            live = await deployments_repo.current(
                session=session, team_id=team_id, service=service, environment=environment
            )
            if live is None:
                received.add("unknown_service")
                continue
            env = ctx.policy.environment(environment)
            assert env is not None
            watch = policy_alerts.duration(env.watch)
            watched = watch is not None and health.in_watch(live.created_at, watch, notice.starts_at)
            row = await alerts_repo.add_once(
                session=session, alert=_row(team_id, service, environment, notice, live, watched)
            )
            if row is None:
                received.add("duplicate")
                continue
            received.add(
                await _news(session, ctx, row, live)
                if notice.status == alerts_repo.FIRING
                else await _resolved(session, ctx, row)
            )
    return received


def _row(team_id: str, service: str, environment: str, notice: Notice, live: Deployment, watched: bool) -> Alert:
    return Alert(
        team_id=team_id,
        fingerprint=notice.fingerprint,
        starts_at=notice.starts_at,
        status=notice.status,
        ends_at=notice.ends_at,
        name=notice.name,
        summary=notice.summary,
        source_url=notice.source_url,
        source=notice.source,
        service=service,
        environment=environment,
        release_id=live.release_id,
        deployment_id=live.id,
        watched=watched and notice.status == alerts_repo.FIRING,
    )


async def _news(session: AsyncSession, ctx: ServiceContext, alert: Alert, live: Deployment) -> str:
    """A new firing alert: the thread, the DMs and the automatic rollback's job when it counts (within the
    watch); otherwise it is only remembered (it still interrupts a soak)."""
    release = await releases_repo.lock_by_id(session=session, team_id=alert.team_id, release_id=live.release_id)
    assert release is not None
    if not alert.watched:
        await release_state.touch(session, ctx, release, {})  # the card and any waiting gate check look again
        return "outside_watch"
    env = ctx.policy.environment(alert.environment)
    assert env is not None
    details = {
        "environment": alert.environment,
        "alert": alert.name,
        "alert_id": alert.id,
        "starts_at": alert.starts_at.isoformat(),
        "source": alert.source,
    }
    thread = Post(
        "thread_alert_fired",
        {"alert": alert, "deployment": live, "auto": env.auto_rollback, "grace": env.rollback_grace},
        blocks=True,
    )
    change = ReleaseChange(Audit.ALERT_FIRED, details, thread=thread)
    await release_state.apply(session, ctx, release, change, actor_id="shipmate", members={})
    _direct(session, alert, release, {live.actor_id, release.proposer_id})
    if env.auto_rollback is not False:
        grace = policy_alerts.duration(env.rollback_grace)
        assert grace is not None
        due = jobs.Due(
            kind=ALERT_ROLLBACK,
            dedupe_key=f"{ALERT_ROLLBACK}:{alert.pk}",
            due_at=max(alert.starts_at + grace, ctx.now()),
            target=str(alert.pk),
            release_id=release.pk,
        )
        await jobs.ensure_all(session=session, team_id=alert.team_id, jobs=[due])
    return "counted"


def _direct(session: AsyncSession, alert: Alert, release: Release, people: set[str]) -> None:
    text = render_text("alert_dm", release=release, alert=alert)
    for user_id in sorted(people):
        if user_id.startswith(("U", "W")):
            outbox.direct(
                session=session,
                team_id=alert.team_id,
                user_id=user_id,
                payload=render("message", text=text, context=None),
            )


async def _resolved(session: AsyncSession, ctx: ServiceContext, resolved: Alert) -> str:
    firing = await alerts_repo.firing_of(
        session=session, team_id=resolved.team_id, fingerprint=resolved.fingerprint, starts_at=resolved.starts_at
    )
    if firing is None or firing.release_id is None:
        return "resolved"
    release = await releases_repo.lock_by_id(session=session, team_id=firing.team_id, release_id=firing.release_id)
    assert release is not None
    if not firing.watched:
        await release_state.touch(session, ctx, release, {})
        return "resolved"
    note = post("thread_alert_resolved", alert=firing, ended=resolved.ends_at or ctx.now())
    await release_state.apply(session, ctx, release, ReleaseChange(None, thread=note), actor_id="shipmate", members={})
    return "resolved"
