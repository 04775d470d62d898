"""The web board: one workspace's releases in flight and their next step, what is live where, the next 30 days of
windows and freezes, its newest deployments and rollbacks, and its delivery figures. Read-only, for anyone the
workspace's Slack sign-in vouches for; every query is scoped by the workspace and bounded by a limit."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from bot import charts
from bot.domain import board as rules
from bot.domain.board import Day, Entry
from bot.domain.delivery_metrics import Measures
from bot.domain.delivery_report import Line, alt_text, lines
from bot.domain.lifecycle import OPEN, Status
from bot.domain.timeparse import zone
from bot.domain.windows import PlannedWindow
from bot.services import metrics
from bot.services.change import Agenda, agenda_in
from bot.services.kernel.context import ServiceContext
from storage.repositories import board as board_repo
from storage.repositories import deploy_requests as requests_repo
from storage.repositories import deployments as deployments_repo
from storage.repositories import releases as releases_repo
from storage.repositories.board import DeploymentLine

log = logging.getLogger(__name__)

CALENDAR_DAYS = 30
IN_FLIGHT = 100  # newest open releases listed
SERVICES = 100  # services in the matrix (by name)
RECENT = 15  # deployments and rollbacks listed
CHART_DAYS = 84  # twelve weeks of bars


@dataclass(frozen=True)
class Flight:
    ref: str
    status: Status
    reached: str | None
    next_step: str
    window_start: datetime | None = None


@dataclass(frozen=True)
class MatrixRow:
    service: str
    cells: list[str | None]  # the version live in each of the policy's environments, in pipeline order


@dataclass(frozen=True)
class BoardView:
    team_id: str
    generated_at: datetime
    timezone: str
    environments: list[str]
    flights: list[Flight]
    matrix: list[MatrixRow]
    more_services: bool  # services past SERVICES are left out
    weeks: list[list[Day]]
    conflicts: int
    deployments: list[DeploymentLine]
    rollbacks: list[DeploymentLine]
    measures: Measures

    @property
    def delivery_lines(self) -> list[Line]:
        return lines(self.measures)


async def board(ctx: ServiceContext, team_id: str) -> BoardView:
    names = ctx.policy.environment_names
    async with ctx.db.quick_read() as session:
        flying = await releases_repo.in_flight(session=session, team_id=team_id, statuses=OPEN, limit=IN_FLIGHT)
        ids = [release.id for release in flying]
        deployed = await deployments_repo.live_environments(session=session, team_id=team_id, release_ids=ids)
        requests = await requests_repo.open_environments(session=session, team_id=team_id, release_ids=ids)
        live = await board_repo.live_matrix(session=session, team_id=team_id, environments=names, limit=SERVICES + 1)
        ahead = await agenda_in(session, ctx, team_id, CALENDAR_DAYS)
        recent = await board_repo.recent_deployments(session=session, team_id=team_id, limit=RECENT)
        rollbacks = await board_repo.recent_rollbacks(session=session, team_id=team_id, limit=RECENT)
    measures = await metrics.summary(ctx, team_id)
    windows = {item.window.release_id: item.start for item in ahead.items if item.window is not None}
    flights = []
    for release in flying:
        reached = [environment for environment in names if environment in deployed[release.id]]
        furthest = reached[-1] if reached else None
        step = rules.next_step(ctx.policy, release.status, furthest, requests.get(release.id, ()))
        flights.append(
            Flight(f"{release.service}@{release.version}", release.status, furthest, step, windows.get(release.id))
        )
    shown = [row for row in live if any(row.versions)]
    return BoardView(
        team_id=team_id,
        generated_at=ctx.now(),
        timezone=ctx.policy.timezone,
        environments=names,
        flights=flights,
        matrix=[MatrixRow(row.service, list(row.versions)) for row in shown[:SERVICES]],
        more_services=len(live) > SERVICES,
        weeks=_weeks(ctx, ahead),
        conflicts=ahead.conflict_count,
        deployments=recent,
        rollbacks=rollbacks,
        measures=measures,
    )


def _weeks(ctx: ServiceContext, ahead: Agenda) -> list[list[Day]]:
    entries: list[Entry] = []
    for item in ahead.items:
        if item.window is not None:
            entries.append(_window_entry(item.window, bool(item.conflicts)))
        elif item.freeze is not None:
            envs = ", ".join(sorted(item.freeze.environments))
            entries.append(Entry("freeze", f"Freeze: {envs}", item.freeze.reason, item.start, item.end))
    return rules.calendar(entries, start=ahead.start, days=ahead.days, tz=zone(ctx.policy.timezone))


def _window_entry(window: PlannedWindow, conflict: bool) -> Entry:
    detail = f"{window.status.replace('_', ' ')} · {window.risk} risk"
    return Entry("window", f"{window.ref} → {window.environment}", detail, window.start, window.end, conflict)


@dataclass(frozen=True)
class ChartImage:
    png: bytes
    alt_text: str


async def chart(ctx: ServiceContext, team_id: str) -> ChartImage | None:
    """The workspace's weekly deployments and lead time, twelve weeks, as a PNG drawn in a worker thread; None
    when it cannot be drawn (the figures on the page still say it in words)."""
    found = await metrics.report(ctx, team_id, days=CHART_DAYS)
    title = f"All services · {found.environment} · last 12 weeks"
    try:
        png = await asyncio.to_thread(charts.delivery_chart, title, found.weeks)
    except Exception:  # a drawing bug must not cost the page its figures; the log has it
        log.exception("could not draw the board's delivery chart")
        return None
    return ChartImage(png, alt_text(title, found.weeks, found.current))
