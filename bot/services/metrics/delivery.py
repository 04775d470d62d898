"""Delivery metrics for people: `/release metrics`, the App Home summary, and the figures of the weekly digest.
Everyone in the workspace may read them. The figures come from SQL aggregates; the chart is drawn in a worker
thread and uploaded to Slack, and an answer never waits on the chart to say its numbers."""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import charts
from bot.domain import delivery_report
from bot.domain.delivery_metrics import DEFAULT_DAYS, Measures, Period
from bot.domain.delivery_report import Line, Week
from bot.domain.errors import NotFound
from bot.services.kernel.context import Actor, ServiceContext
from storage.repositories import alerts as alerts_repo
from storage.repositories import delivery as delivery_repo
from storage.repositories import releases as releases_repo
from storage.repositories.delivery import Scope, Shipped
from storage.repositories.releases import EmergencyCounts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Report:
    service: str | None  # None: every service of the workspace
    environment: str
    current: Measures
    previous: Measures
    weeks: list[Week]
    alert_rollbacks: int = 0  # rollbacks asked for because of an alert (automatic, or the alert's button)
    not_related: int = 0  # alerts someone who may deploy answered "Not related"

    @property
    def alerts_line(self) -> str:
        """What alerts did in the period, for the answer ("" when they did nothing)."""
        if not (self.alert_rollbacks or self.not_related):
            return ""
        rollbacks = f"{self.alert_rollbacks} alert-driven rollback{'' if self.alert_rollbacks == 1 else 's'}"
        return f"Alerts: {rollbacks} · {self.not_related} answered “Not related”"

    emergency: EmergencyCounts | None = None  # emergency changes that reached production, and their full approval

    @property
    def title(self) -> str:
        return f"{self.service or 'All services'} · {self.environment} · last {self.current.period.days:.0f} days"

    @property
    def lines(self) -> list[Line]:
        return delivery_report.lines(self.current, self.previous)

    @property
    def summary(self) -> str:
        return delivery_report.summary(self.current)

    @property
    def note(self) -> str:
        return delivery_report.levels_note()


@dataclass(frozen=True)
class Chart:
    """An uploaded chart, shown in an image block by its Slack file id."""

    file_id: str
    title: str
    alt_text: str


def _scope(ctx: ServiceContext, team_id: str, service: str | None) -> Scope:
    return Scope(team_id, ctx.policy.environment_names[-1], service)


async def report(
    ctx: ServiceContext,
    team_id: str,
    *,
    service: str | None = None,
    days: int = DEFAULT_DAYS,
    end: datetime | None = None,
    chart_days: int | None = None,
) -> Report:
    """The four measures over the `days` up to `end` (default now) against the `days` before, and the weeks of the
    last `chart_days` (default `days`) for the chart."""
    period = Period.ending(end or ctx.now(), days)
    shown = Period.ending(period.end, chart_days or days)
    scope = _scope(ctx, team_id, service)
    async with ctx.db.read() as session:
        if service is not None and not await delivery_repo.service_known(
            session=session, team_id=team_id, service=service
        ):
            raise NotFound(
                "There are no releases of {service} in this workspace; check the name with `/release list`.",
                service=service,
            )
        now, before = await delivery_repo.period_facts(
            session=session, scope=scope, period=period, previous=period.previous()
        )
        weeks = await delivery_repo.weekly_facts(session=session, scope=scope, period=shown)
        rollbacks, unrelated = await alerts_repo.answered(
            session=session, team_id=team_id, since=period.start, until=period.end, service=service
        )
        delay = ctx.policy.emergency.retro_delay  # due that long after production: counted by when it got there
        emergency = await releases_repo.emergency_counts(
            session=session,
            team_id=team_id,
            service=service,
            start=period.start + delay,
            end=period.end + delay,
            now=ctx.now(),
        )
    assert before is not None
    return Report(
        service=service,
        environment=scope.environment,
        current=Measures(period, now),
        previous=Measures(period.previous(), before),
        weeks=[Week(span, facts) for span, facts in weeks],
        alert_rollbacks=rollbacks,
        not_related=unrelated,
        emergency=emergency,
    )


async def chart(ctx: ServiceContext, team_id: str, report: Report, *, title: str | None = None) -> Chart | None:
    """Draw the report's weeks and upload the PNG; None when either fails (the numbers go out without it)."""
    title = title or report.title
    try:
        png = await asyncio.to_thread(charts.delivery_chart, title, report.weeks)
    except Exception:  # a drawing bug must not cost the person their numbers; the log has it
        log.exception("could not draw the delivery chart %r", title)
        return None
    name = f"delivery-{report.service or 'all'}-{report.current.period.end:%Y%m%d}.png"
    alt_text = delivery_report.alt_text(title, report.weeks, report.current)
    file_id = await ctx.files.upload_png(team_id=team_id, png=png, filename=name, title=title, alt_text=alt_text)
    return Chart(file_id, title, alt_text) if file_id else None


async def metrics(ctx: ServiceContext, actor: Actor, service: str | None, days: int) -> tuple[Report, Chart | None]:
    """`/release metrics [service] [days]`: the measures, and the chart when it could be uploaded."""
    found = await report(ctx, actor.team_id, service=service, days=days)
    return found, await chart(ctx, actor.team_id, found)


SUMMARY_FRESH = timedelta(minutes=1)  # App Home's measures move by deployments, not by the second


async def summary(ctx: ServiceContext, team_id: str, days: int = DEFAULT_DAYS) -> Measures:
    """App Home: the workspace's measures over the last `days`, in one pass (no comparison, no weeks), computed at
    most once a minute per workspace and process (half of an App Home's cost otherwise)."""
    now = ctx.now()
    kept = ctx.summaries.get((team_id, days))
    if kept is not None and now - kept[0] < SUMMARY_FRESH:
        return kept[1]
    period = Period.ending(now, days)
    async with ctx.db.read() as session:
        facts, _ = await delivery_repo.period_facts(session=session, scope=_scope(ctx, team_id, None), period=period)
    measures = Measures(period, facts)
    ctx.summaries[(team_id, days)] = (now, measures)
    return measures


async def shipped(ctx: ServiceContext, team_id: str, period: Period) -> Sequence[Shipped]:
    async with ctx.db.read() as session:
        return await delivery_repo.shipped(session=session, scope=_scope(ctx, team_id, None), period=period)
