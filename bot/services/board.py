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
from bot.domain.lifecycle import Status
from bot.domain.timeparse import zone
from bot.domain.windows import PlannedWindow
from bot.services import deploys, metrics
from bot.services.change import Agenda, agenda_in
from bot.services.kernel.context import Actor, ServiceContext
from storage.repositories import board as board_repo
from storage.repositories.board import DeploymentLine
from storage.repositories.deployments import LiveVersion

CALENDAR_DAYS = 30
RECENT = 15  # deployments and rollbacks listed
CHART_DAYS = 84  # twelve weeks of bars
BOARD_ACTOR = "web-board"  # the reader of the status report: reads are scoped by its workspace only


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
    cells: list[LiveVersion | None]  # the policy's environments, in pipeline order


@dataclass(frozen=True)
class BoardView:
    team_id: str
    generated_at: datetime
    timezone: str
    environments: list[str]
    flights: list[Flight]
    matrix: list[MatrixRow]
    more_services: int
    weeks: list[list[Day]]
    conflicts: int
    deployments: list[DeploymentLine]
    rollbacks: list[DeploymentLine]
    measures: Measures

    @property
    def delivery_lines(self) -> list[Line]:
        return lines(self.measures)


async def board(ctx: ServiceContext, team_id: str) -> BoardView:
    status = await deploys.status_report(ctx, Actor(team_id, BOARD_ACTOR))
    async with ctx.db.quick_read() as session:
        ahead = await agenda_in(session, ctx, team_id, CALENDAR_DAYS)
        recent = await board_repo.recent_deployments(session=session, team_id=team_id, limit=RECENT)
        rollbacks = await board_repo.recent_rollbacks(session=session, team_id=team_id, limit=RECENT)
    measures = await metrics.summary(ctx, team_id)
    windows = {
        item.window.release_id: item.window.start for item in ahead.items if item.window is not None
    }  # a release's next window, when one is planned
    flights = [
        Flight(
            flight.release.service + "@" + flight.release.version,
            flight.release.status,
            flight.reached,
            rules.next_step(ctx.policy, flight.release.status, flight.reached, flight.deploying),
            windows.get(flight.release.id),
        )
        for service in status.services
        for flight in service.in_flight
    ]
    return BoardView(
        team_id=team_id,
        generated_at=ctx.now(),
        timezone=ctx.policy.timezone,
        environments=ctx.policy.environment_names,
        flights=flights,
        matrix=[MatrixRow(s.service, [live for _env, live in s.live]) for s in status.services if _is_live(s.live)],
        more_services=status.more,
        weeks=_weeks(ctx, ahead),
        conflicts=ahead.conflict_count,
        deployments=recent,
        rollbacks=rollbacks,
        measures=measures,
    )


def _is_live(cells: list[tuple[str, LiveVersion | None]]) -> bool:
    return any(live is not None for _env, live in cells)


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


log = logging.getLogger(__name__)


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
