"""The weekly delivery digest in the stakeholder channel (`[metrics] digest = "mon 09:00"`, in `[metrics] timezone`
or the policy's): what reached production that week by service, the four measures against the week before, and
eight weeks of chart. One durable job per workspace and schedule, claimed like every reminder, so however many
processes run it goes out once a week, and a restart picks it up where it was.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.change import Audit
from bot.domain.delivery_metrics import WEEK, Period
from bot.domain.policy import Policy
from bot.domain.reminders import Kind, digest_key, next_weekly
from bot.render import FALLBACK, render
from bot.services.kernel.context import ServiceContext
from bot.services.kernel.hooks import HOOKS, Facts
from bot.services.kernel.jobs import runs
from bot.services.metrics import delivery
from bot.services.metrics.delivery import Chart, Report
from storage.models import Release, ScheduledJob
from storage.repositories import delivery as delivery_repo
from storage.repositories import jobs, outbox
from storage.repositories.delivery import Shipped

log = logging.getLogger(__name__)

CHART_WEEKS = 8


@dataclass(frozen=True)
class Schedule:
    spec: str  # "mon 09:00"
    timezone: str
    channel: str

    @property
    def key(self) -> str:
        return digest_key(self.spec, self.timezone)

    def next_after(self, moment: datetime) -> datetime:
        return next_weekly(self.spec, ZoneInfo(self.timezone), moment)


@dataclass(frozen=True)
class Digest:
    week: Report  # the 7 days to `end` against the 7 before; its weeks are the chart's eight
    shipped: list[tuple[str, list[Shipped]]]  # by service
    more: bool  # more reached production than the digest lists
    chart: Chart | None

    @property
    def end(self) -> datetime:
        return self.week.current.period.end


def schedule(policy: Policy) -> Schedule | None:
    """The digest's schedule, or None when it is off (no `[metrics] digest`, or no stakeholder channel)."""
    channel = policy.slack.stakeholder_channel
    if policy.metrics.digest is None or channel is None:
        return None
    return Schedule(policy.metrics.digest, policy.metrics.timezone or policy.timezone, channel)


async def plan(session: AsyncSession, ctx: ServiceContext, team_id: str) -> None:
    """Make sure the workspace's digest is scheduled (a live job keeps its time)."""
    found = schedule(ctx.policy)
    if found is None:
        return
    await jobs.ensure(
        session=session,
        team_id=team_id,
        kind=Kind.METRICS_DIGEST,
        dedupe_key=found.key,
        due_at=found.next_after(ctx.now()),
        target=found.channel,
    )


async def plan_all(ctx: ServiceContext) -> None:
    """At start: every workspace with releases gets its digest (the schedule may be new in the policy)."""
    async with ctx.db.transaction() as session:
        for team_id in await delivery_repo.active_teams(session=session):
            served = ctx.for_team(team_id)
            if schedule(served.policy) is not None:
                await plan(session, served, team_id)


async def digest(ctx: ServiceContext, team_id: str, end: datetime) -> Digest:
    """The figures, the list and the chart of the week to `end` (the chart's upload may fail: then no chart)."""
    week = await delivery.report(ctx, team_id, days=7, end=end, chart_days=7 * CHART_WEEKS)
    shipped = await delivery.shipped(ctx, team_id, Period.ending(end, 7))
    by_service = [(service, list(rows)) for service, rows in groupby(shipped, key=lambda row: row.service)]
    title = f"Every service · {week.environment} · {CHART_WEEKS} weeks to {end:%d %b %Y}"
    chart = await delivery.chart(ctx, team_id, week, title=title)
    return Digest(week, by_service, more=len(shipped) >= delivery_repo.SHIPPED_LIMIT, chart=chart)


@runs(Kind.METRICS_DIGEST)
async def run(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """A digest fell due: post it and schedule the next; a job of an old or switched-off schedule is dropped."""
    found = schedule(ctx.policy)
    current = [job for job in due if found is not None and job.dedupe_key == found.key]
    stale = [job.id or 0 for job in due if job not in current]
    if stale:
        async with ctx.db.transaction() as session:
            if await jobs.fence(session=session, job_ids=stale, worker=worker):
                await jobs.finish(session=session, job_ids=stale, status="dropped", error="digest schedule changed")
    if not current or found is None:
        return
    job = current[0]  # one per schedule: the dedupe key is unique
    now = ctx.now()
    # The week that ended at the last scheduled moment (a digest run late still reports its own week).
    end = min(now, max(job.due_at, found.next_after(now - WEEK)))
    # The chart is uploaded outside the transaction; should the fence then fail, another process took the job over
    # and posts it, and this upload is never shown.
    report = await digest(ctx, team_id, end)
    words = render("metrics_digest", digest=report, chart=None)
    payload = words if report.chart is None else {**render("metrics_digest", digest=report, chart=report.chart),
                                                   FALLBACK: words}  # fmt: skip
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.id or 0], worker=worker):
            return  # another process took it over; it posts
        outbox.enqueue(session=session, team_id=team_id, kind="post", channel=found.channel, payload=payload)
        await jobs.again(session=session, job_id=job.id or 0, due_at=found.next_after(max(now, job.due_at)))


@HOOKS.after(Audit.PROPOSED, Audit.REPROPOSED)
async def _proposed(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    """The workspace's weekly digest, if it has none yet."""
    await plan(session, ctx, release.team_id)
