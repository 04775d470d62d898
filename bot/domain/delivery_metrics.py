"""Delivery metrics: the four DORA measures of software delivery, for production (the last environment).

The definitions, in one place (`facts_of` states them as code; `storage/repositories/delivery.py` computes the same
figures with SQL aggregates, and a test holds the two to the same answers on the same histories):

- A **deployment** is a *succeeded* deployment to production. A CI run reported as failed changed nothing live and
  counts nowhere. A rollback is not a deployment: it marks the deployments it undoes as failed.
- **Deployment frequency**: deployments in the period ÷ its days (also shown per week).
- **Lead time for changes**: per deployment, from the commit time CI reported (`commit_at`, on this deployment or
  an earlier one of the same release) or else the release's proposal, to the deployment; never below zero.
  Median and p90 (`percentile_cont`: linear interpolation between the two nearest ranks).
- **Change failure rate**: the share of the period's deployments that were later rolled back or failed their
  regression sign-off in production (each deployment counts once, however it failed).
- **Time to restore**: per failed deployment, from it to the next deployment of the same service that succeeded
  and did not fail itself; median. A failure with no such deployment yet is *unrestored* and left out of the median.

Each measure belongs to the period its deployment fell in; failures and restores are read as known now. Levels use
the thresholds of the 2024 Accelerate State of DevOps Report (see `LEVELS_SOURCE` and README).
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
MONTH = timedelta(days=30)
DEFAULT_DAYS = 30
MAX_DAYS = 365
MEDIAN = Fraction(1, 2)
P90 = Fraction(9, 10)
LEVELS_SOURCE = "2024 Accelerate State of DevOps Report (DORA)"


class Level(StrEnum):
    ELITE = "elite"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# The report's figures per level, read as bounds and tried best first (README has the table and the reasons).
def frequency_level(per_day: float) -> Level:
    """Elite: on demand (daily or more); high: between daily and weekly; medium: weekly to monthly; low: less."""
    if per_day >= 1:
        return Level.ELITE
    if per_day >= 1 / 7:
        return Level.HIGH
    return Level.MEDIUM if per_day >= 1 / 30 else Level.LOW


def lead_time_level(median: timedelta) -> Level:
    """Elite: less than a day; high: up to a week; medium: up to a month; low: longer."""
    if median < DAY:
        return Level.ELITE
    if median <= WEEK:
        return Level.HIGH
    return Level.MEDIUM if median <= MONTH else Level.LOW


def failure_rate_level(rate: float) -> Level:
    """The report's typical rates are 5 % (elite), 20 % (high), 10 % (medium) and 40 % (low). Medium's sits below
    high's, so it cannot bound a band: up to 5 % is elite, up to 20 % high, below 40 % medium, 40 % or more low."""
    if rate <= 0.05:
        return Level.ELITE
    if rate <= 0.20:
        return Level.HIGH
    return Level.MEDIUM if rate < 0.40 else Level.LOW


def restore_level(median: timedelta) -> Level:
    """Elite: less than an hour; high: less than a day. The report gives medium "less than one day" too and low
    "one week to one month", leaving a day to a week to medium; a week or more is low."""
    if median < HOUR:
        return Level.ELITE
    if median < DAY:
        return Level.HIGH
    return Level.MEDIUM if median < WEEK else Level.LOW


@dataclass(frozen=True)
class Period:
    """[start, end): the last `days` days up to `end`."""

    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime, days: int) -> "Period":
        return cls(end - timedelta(days=days), end)

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY

    def previous(self) -> "Period":
        return Period(self.start - (self.end - self.start), self.start)

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end

    @property
    def week_origin(self) -> datetime:
        """Weeks are laid back from the end, so every week is whole but the oldest, which the start cuts short."""
        return self.end - math.ceil((self.end - self.start) / WEEK) * WEEK

    def week_of(self, at: datetime) -> int:
        """The index in `weeks()` (oldest first) of the week `at` falls in."""
        return math.floor((at - self.week_origin) / WEEK)

    def weeks(self) -> list["Period"]:
        """Oldest first; each [start, end) is `WEEK` long except the oldest, which starts with the period."""
        origin = self.week_origin
        count = round((self.end - origin) / WEEK)
        return [Period(max(self.start, origin + k * WEEK), origin + (k + 1) * WEEK) for k in range(count)]


# -- percentiles, the way PostgreSQL's percentile_cont computes them -----------------------------------------------
def rank_bounds(count: int, fraction: Fraction) -> tuple[int, int, Fraction]:
    """The 0-based ranks around position fraction × (count - 1), and how far between them the percentile lies."""
    position = fraction * (count - 1)
    lower = math.floor(position)
    return lower, min(lower + 1, count - 1), position - lower


def percentile(values_by_rank: Mapping[int, float], count: int, fraction: Fraction) -> float | None:
    """From the values at the ranks `rank_bounds` names (the rest need not be there); None for no values."""
    if count <= 0:
        return None
    lower, upper, between = rank_bounds(count, fraction)
    low, high = values_by_rank[lower], values_by_rank[upper]
    return low + float(between) * (high - low)


def percentile_of(values: Iterable[float], fraction: Fraction) -> float | None:
    ordered = sorted(values)
    return percentile(dict(enumerate(ordered)), len(ordered), fraction)


# -- what storage counts, and the definitions as code ------------------------------------------------------------
@dataclass(frozen=True)
class Facts:
    """The aggregates of one period (or one week): counts, and durations in seconds."""

    deployments: int = 0
    failures: int = 0
    lead_median: float | None = None
    lead_p90: float | None = None
    restored: int = 0
    restore_median: float | None = None

    @property
    def unrestored(self) -> int:
        return self.failures - self.restored


@dataclass(frozen=True)
class ProdDeployment:
    """One deployment to production as the definitions see it."""

    id: int
    service: str
    at: datetime
    succeeded: bool
    change_started_at: datetime  # commit time if CI reported one, else the release's proposal
    failed: bool = False  # rolled back, or its regression sign-off in production failed


def facts_of(history: Sequence[ProdDeployment], period: Period) -> Facts:
    """The definitions: `history` is every production deployment of the scope (the next good deployment that ends
    a restore may come after the period)."""
    ordered = sorted(history, key=lambda d: (d.at, d.id))
    deployed = [d for d in ordered if d.succeeded and period.covers(d.at)]
    leads = [max(0.0, (d.at - d.change_started_at).total_seconds()) for d in deployed]
    failures = [d for d in deployed if d.failed]
    restores = []
    for failure in failures:
        fix = next(
            (d for d in ordered if d.at > failure.at and d.service == failure.service and d.succeeded and not d.failed),
            None,
        )
        if fix is not None:
            restores.append((fix.at - failure.at).total_seconds())
    return Facts(
        deployments=len(deployed),
        failures=len(failures),
        lead_median=percentile_of(leads, MEDIAN),
        lead_p90=percentile_of(leads, P90),
        restored=len(restores),
        restore_median=percentile_of(restores, MEDIAN),
    )


# -- the measures a person reads -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measures:
    period: Period
    facts: Facts

    @property
    def per_day(self) -> float:
        return self.facts.deployments / self.period.days if self.period.days > 0 else 0.0

    @property
    def per_week(self) -> float:
        return self.per_day * 7

    @property
    def failure_rate(self) -> float | None:
        return self.facts.failures / self.facts.deployments if self.facts.deployments else None

    @property
    def lead_median(self) -> timedelta | None:
        return _seconds(self.facts.lead_median)

    @property
    def lead_p90(self) -> timedelta | None:
        return _seconds(self.facts.lead_p90)

    @property
    def restore_median(self) -> timedelta | None:
        return _seconds(self.facts.restore_median)

    @property
    def frequency_level(self) -> Level:
        return frequency_level(self.per_day)

    @property
    def lead_time_level(self) -> Level | None:
        return None if self.lead_median is None else lead_time_level(self.lead_median)

    @property
    def failure_rate_level(self) -> Level | None:
        return None if self.failure_rate is None else failure_rate_level(self.failure_rate)

    @property
    def restore_level(self) -> Level | None:
        return None if self.restore_median is None else restore_level(self.restore_median)


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=round(value))
