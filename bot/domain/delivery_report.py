"""How the delivery measures read: one line per measure with its level and its change against the previous
period, the weekly series behind the chart, and the chart's alt text. Pure: numbers in, words out."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.delivery_metrics import LEVELS_SOURCE, Facts, Level, Measures, Period

LEVEL_MARKS = {Level.ELITE: "🟢", Level.HIGH: "🔵", Level.MEDIUM: "🟡", Level.LOW: "🔴"}


@dataclass(frozen=True)
class Line:
    """One measure: `value` and `detail` are plain text (no user input), `change` compares with the period before."""

    name: str
    value: str
    detail: str
    level: Level | None
    change: str

    @property
    def compared(self) -> str:
        return f"{self.name.lower()} {self.change}"

    @property
    def level_text(self) -> str:
        return f"{LEVEL_MARKS[self.level]} {self.level.value}" if self.level else "no level yet"


@dataclass(frozen=True)
class Week:
    """One bar of the chart: deployments, how many of them failed, and their median lead time."""

    period: Period
    facts: Facts

    @property
    def label(self) -> str:
        short = self.period.end - self.period.start < timedelta(days=7)
        return self.period.start.strftime("%d %b") + (" (part)" if short else "")


def duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    if seconds < 60:
        return "under 1 min"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def rate(value: float) -> str:
    return f"{value:.1f}/day" if value >= 1 else f"{value * 7:.1f}/week"


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _trend(now: float | None, before: float | None, shown: str | None, *, higher_is_better: bool) -> str:
    if before is None or shown is None:
        return "nothing to compare with before"
    if now is None:
        return f"was {shown}"
    if abs(now - before) < 1e-9:
        return f"same as before ({shown})"
    up = now > before
    better = up == higher_is_better
    return f"{'▲' if up else '▼'} from {shown} ({'better' if better else 'worse'})"


def lines(current: Measures, previous: Measures | None = None) -> list[Line]:
    """The four measures of `current`, each compared with `previous` when given."""
    facts = current.facts
    before = previous
    lead, lead_p90, restore = current.lead_median, current.lead_p90, current.restore_median
    frequency = Line(
        "Deployment frequency",
        rate(current.per_day),
        f"{facts.deployments} to production in {current.period.days:.0f} days",
        current.frequency_level,
        _trend(
            current.per_day,
            before.per_day if before else None,
            rate(before.per_day) if before else None,
            higher_is_better=True,
        ),
    )
    lead_line = Line(
        "Lead time for changes",
        f"median {duration(lead)}" if lead is not None else "no deployments",
        f"p90 {duration(lead_p90)}" if lead_p90 is not None else "commit (or proposal) to production",
        current.lead_time_level,
        _compare_durations(lead, before.lead_median if before else None, higher_is_better=False),
    )
    failure = current.failure_rate
    failure_line = Line(
        "Change failure rate",
        percent(failure) if failure is not None else "no deployments",
        f"{facts.failures} of {facts.deployments} rolled back or failed verification",
        current.failure_rate_level,
        _trend(
            failure,
            before.failure_rate if before else None,
            percent(before.failure_rate) if before and before.failure_rate is not None else None,
            higher_is_better=False,
        ),
    )
    restore_detail = f"{facts.restored} restored" + (f", {facts.unrestored} not yet" if facts.unrestored else "")
    restore_line = Line(
        "Time to restore",
        f"median {duration(restore)}" if restore is not None else "no failures" if not facts.failures else "not yet",
        restore_detail if facts.failures else "failed deployment to the next good one",
        current.restore_level,
        _compare_durations(restore, before.restore_median if before else None, higher_is_better=False),
    )
    return [frequency, lead_line, failure_line, restore_line]


def _compare_durations(now: timedelta | None, before: timedelta | None, *, higher_is_better: bool) -> str:
    return _trend(
        now.total_seconds() if now is not None else None,
        before.total_seconds() if before is not None else None,
        duration(before) if before is not None else None,
        higher_is_better=higher_is_better,
    )


def summary(current: Measures) -> str:
    """One line of the four values, for fallback text and notifications."""
    return " · ".join(f"{line.name}: {line.value}" for line in lines(current))


def alt_text(title: str, weeks: Sequence[Week], current: Measures, *, limit: int = 2000) -> str:
    """What the chart shows, in words: screen readers and the image block's alt text carry the numbers."""
    bars = "; ".join(
        f"{week.label}: {week.facts.deployments} deployment{'' if week.facts.deployments == 1 else 's'}"
        + (f" ({week.facts.failures} failed)" if week.facts.failures else "")
        + (f", median lead time {duration(_td(week.facts.lead_median))}" if week.facts.lead_median is not None else "")
        for week in weeks
    )
    text = f"{title}. Weekly production deployments: {bars or 'none'}. {summary(current)}."
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _td(seconds: float | None) -> timedelta:
    return timedelta(seconds=seconds or 0)


def levels_note() -> str:
    return f"Levels: {LEVELS_SOURCE}. Production only; a rollback marks what it undoes as failed."
