"""Delivery metrics as SQL aggregates. The definitions are `bot.domain.delivery_metrics` (`facts_of` there is the
same computation in Python; a test holds the two to the same answers on both databases).

No query returns a row per deployment. Counts and sums are aggregates; so are percentiles: PostgreSQL computes them
with `percentile_cont`. SQLite has none, so each row is ranked within its group by window functions
(`row_number() OVER (PARTITION BY grp ORDER BY value)` next to the group's `count(*)`), and only the rows at the
ranks around each percentile's position come back (at most five a group), interpolated in
`delivery_metrics.percentile` exactly as `percentile_cont` does. Both walk the (team_id, [service,] environment,
created_at) indexes over the time range; the next good deployment after a failure is one probe of the
(team_id, service, environment, created_at) index.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.delivery_metrics import MEDIAN, P90, Facts, Period, percentile
from storage.models.tables import ALERTS, DEPLOYMENTS, RELEASES
from storage.repositories.deployments import SUCCEEDED
from storage.types import UTCDateTime

WEEK_SECONDS = 7 * 86400
SHIPPED_LIMIT = 200


@dataclass(frozen=True)
class Scope:
    """Whose deployments: one workspace, one environment (production), optionally one service."""

    team_id: str
    environment: str
    service: str | None = None


@dataclass(frozen=True)
class Shipped:
    """A deployment in a digest's list."""

    service: str
    version: str
    at: datetime
    failed: bool


Group = Callable[[Any], ColumnElement[int]]


async def _rows(session: AsyncSession, query: Any) -> Sequence[Any]:
    """Core rows (not ORM entities) through the session's connection, in its transaction."""
    connection = await session.connection()
    return (await connection.execute(query)).all()


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _epoch(session: AsyncSession, value: Any) -> ColumnElement[float]:
    """Seconds since 1970 as a float (SQLite: from the Julian day, which keeps milliseconds)."""
    if _postgres(session):
        return cast(func.extract("epoch", value), Float)
    return (func.julianday(value) - 2440587.5) * 86400.0


def _at(value: datetime) -> ColumnElement[datetime]:
    return literal(value, UTCDateTime())


def _deployed(session: AsyncSession, scope: Scope, start: datetime, end: datetime, group: Group) -> Any:
    """The scope's succeeded deployments in [start, end) with their group, lead time (seconds) and failure flag."""
    d, r = DEPLOYMENTS.alias("d"), RELEASES.alias("r")
    # The proposal time by primary key, and only for rows without a commit time (a join would read every release).
    proposed = select(r.c.created_at).where(r.c.id == d.c.release_id, r.c.team_id == d.c.team_id).scalar_subquery()
    started = func.coalesce(d.c.commit_at, proposed)
    raw_lead = _epoch(session, d.c.created_at) - _epoch(session, started)
    lead = func.greatest(raw_lead, 0.0) if _postgres(session) else func.max(raw_lead, 0.0)
    failed = or_(d.c.rolled_back_at.is_not(None), d.c.verification_failed_at.is_not(None))
    query = select(
        group(d.c.created_at).label("grp"),
        d.c.id,
        d.c.service,
        d.c.created_at,
        lead.label("lead"),
        case((failed, 1), else_=0).label("failed"),
        d.c.rolled_back_at,
    ).where(
        d.c.team_id == scope.team_id,
        d.c.environment == scope.environment,
        d.c.outcome == SUCCEEDED,
        d.c.created_at >= start,
        d.c.created_at < end,
    )
    if scope.service is not None:
        query = query.where(d.c.service == scope.service)
    return query.cte("deployed")


def _restores(session: AsyncSession, scope: Scope, deployed: Any) -> Any:
    """Each failed deployment and the seconds to the next good one of its service (NULL while there is none)."""
    n = DEPLOYMENTS.alias("n")
    fixed_at = (
        select(n.c.created_at)
        .where(
            n.c.team_id == scope.team_id,
            n.c.service == deployed.c.service,
            n.c.environment == scope.environment,
            n.c.created_at > deployed.c.created_at,
            n.c.outcome == SUCCEEDED,
            n.c.rolled_back_at.is_(None),
            n.c.verification_failed_at.is_(None),
        )
        .order_by(n.c.created_at)
        .limit(1)
        .scalar_subquery()
    )
    # An alert-driven rollback restores from the alert's startsAt to the rollback's deployment.
    a = ALERTS.alias("a")
    alerted = (
        select(func.min(a.c.starts_at))
        .where(a.c.team_id == scope.team_id, a.c.deployment_id == deployed.c.id, a.c.rollback_at.is_not(None))
        .scalar_subquery()
    )
    by_alert = _epoch(session, deployed.c.rolled_back_at) - _epoch(session, alerted)
    to_next = _epoch(session, fixed_at) - _epoch(session, deployed.c.created_at)
    seconds = case((deployed.c.rolled_back_at.is_not(None) & alerted.is_not(None), by_alert), else_=to_next)
    query = select(deployed.c.grp, seconds.label("seconds")).where(deployed.c.failed == 1)
    # Materialized, so PostgreSQL probes the index once per failure rather than once per aggregate that reads it.
    return query.cte("restores").prefix_with("MATERIALIZED", dialect="postgresql")


async def _ranked(
    session: AsyncSession, rows: Any, value: str, fractions: Sequence[Fraction], sums: dict[str, Any]
) -> dict[int, tuple[int, dict[str, int], dict[Fraction, float | None]]]:
    """Per group: how many rows have a value, the `sums`, and the percentiles of `value` (NULLs ignored)."""
    column = rows.c[value]
    if _postgres(session):
        query = select(
            rows.c.grp,
            func.count(column),
            *(func.coalesce(func.sum(expr), 0).label(name) for name, expr in sums.items()),
            *(func.percentile_cont(float(q)).within_group(column) for q in fractions),
        ).group_by(rows.c.grp)
        out = {}
        for row in await _rows(session, query):
            values = {q: _ms(v) for q, v in zip(fractions, row[2 + len(sums) :], strict=True)}
            out[int(row[0])] = (int(row[1]), {name: int(row[2 + i]) for i, name in enumerate(sums)}, values)
        return out
    window = {"partition_by": rows.c.grp}
    ranked = select(
        rows.c.grp,
        column.label("v"),
        (func.row_number().over(order_by=(column.is_(None), column), **window) - 1).label("k"),
        func.count(column).over(**window).label("n"),
        *(func.coalesce(func.sum(expr).over(**window), 0).label(name) for name, expr in sums.items()),
    ).subquery("ranked")
    k, count = ranked.c.k, ranked.c.n
    wanted = [k == 0]
    for q in fractions:
        lower = (count - 1) * q.numerator // q.denominator
        wanted += [k == lower, k == lower + 1]
    query = select(ranked.c.grp, k, ranked.c.v, count, *(ranked.c[name] for name in sums)).where(or_(*wanted))
    by_group: dict[int, list[Any]] = defaultdict(list)
    for row in await _rows(session, query):
        by_group[int(row[0])].append(row)
    out = {}
    for grp, found in by_group.items():
        n = int(found[0][3])
        values_by_rank = {int(row[1]): float(row[2]) for row in found if row[2] is not None and int(row[1]) < n}
        totals = {name: int(found[0][4 + i]) for i, name in enumerate(sums)}
        out[grp] = (n, totals, {q: _ms(percentile(values_by_rank, n, q)) for q in fractions})
    return out


def _ms(seconds: float | None) -> float | None:
    """To the millisecond: what SQLite's Julian days keep, so both databases answer alike."""
    return None if seconds is None else round(float(seconds), 3)


async def _grouped(
    session: AsyncSession, scope: Scope, start: datetime, end: datetime, group: Group, *, restores: bool = True
) -> dict[int, Facts]:
    deployed = _deployed(session, scope, start, end, group)
    leads = await _ranked(session, deployed, "lead", (MEDIAN, P90), {"failures": deployed.c.failed})
    fixes = await _ranked(session, _restores(session, scope, deployed), "seconds", (MEDIAN,), {}) if restores else {}
    facts: dict[int, Facts] = {}
    for grp, (count, sums, lead) in leads.items():
        restored, _, restore = fixes.get(grp, (0, {}, {MEDIAN: None}))
        facts[grp] = Facts(
            deployments=count,
            failures=sums["failures"],
            lead_median=lead[MEDIAN],
            lead_p90=lead[P90],
            restored=restored,
            restore_median=restore[MEDIAN],
        )
    return facts


async def period_facts(
    *, session: AsyncSession, scope: Scope, period: Period, previous: Period | None = None
) -> tuple[Facts, Facts | None]:
    """The period's facts, and the previous (adjacent, earlier) period's, from one pass over both."""
    start = previous.start if previous is not None else period.start
    facts = await _grouped(session, scope, start, period.end, lambda at: case((at >= period.start, 0), else_=1))
    return facts.get(0, Facts()), (facts.get(1, Facts()) if previous is not None else None)


async def weekly_facts(*, session: AsyncSession, scope: Scope, period: Period) -> list[tuple[Period, Facts]]:
    """Week by week (`Period.weeks()`, oldest first), for the chart: deployments, failures and lead times (restores
    are left out: the chart does not show them)."""
    origin = _epoch(session, _at(period.week_origin))

    def week(at: Any) -> ColumnElement[int]:
        weeks = (_epoch(session, at) - origin) / WEEK_SECONDS  # never negative: `at` is within the period
        return cast(func.floor(weeks), Integer) if _postgres(session) else cast(weeks, Integer)

    facts = await _grouped(session, scope, period.start, period.end, week, restores=False)
    return [(span, facts.get(index, Facts())) for index, span in enumerate(period.weeks())]


async def shipped(
    *, session: AsyncSession, scope: Scope, period: Period, limit: int = SHIPPED_LIMIT
) -> Sequence[Shipped]:
    """What reached the environment in the period, by service then time (for the weekly digest)."""
    d = DEPLOYMENTS
    query: Select[Any] = (
        select(
            d.c.service,
            d.c.version,
            d.c.created_at,
            or_(d.c.rolled_back_at.is_not(None), d.c.verification_failed_at.is_not(None)),
        )
        .where(
            d.c.team_id == scope.team_id,
            d.c.environment == scope.environment,
            d.c.outcome == SUCCEEDED,
            d.c.created_at >= period.start,
            d.c.created_at < period.end,
        )
        .order_by(d.c.service, d.c.id)
        .limit(limit)
    )
    return [Shipped(row[0], row[1], row[2], bool(row[3])) for row in await _rows(session, query)]


async def service_known(*, session: AsyncSession, team_id: str, service: str) -> bool:
    query = select(exists().where(RELEASES.c.team_id == team_id, RELEASES.c.service == service))
    return bool((await _rows(session, query))[0][0])


async def active_teams(*, session: AsyncSession, limit: int = 1000) -> list[str]:
    """Workspaces that have proposed anything (the weekly digest is planned for each when a process starts)."""
    query = select(RELEASES.c.team_id).distinct().order_by(RELEASES.c.team_id).limit(limit)
    return [str(row[0]) for row in await _rows(session, query)]
