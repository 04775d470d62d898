"""Freeze windows as time arithmetic: one-off freezes, weekly recurring freezes in a time zone (DST-correct),
explicit-date freezes from the policy, and the questions "is `at` frozen?" and "which freezes fall between a
and b?". Pure: times in and out are aware UTC datetimes."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.gates import ActiveFreeze
from bot.domain.policy import WEEKDAYS, Policy, RecurringFreeze

_EVERY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) (\d\d):(\d\d)\s*-\s*(mon|tue|wed|thu|fri|sat|sun) (\d\d):(\d\d)$")
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class FreezeWindow:
    """One concrete freeze: a row from `/release freeze`, or one occurrence of a policy freeze."""

    environments: frozenset[str]
    start: datetime
    end: datetime
    reason: str
    freeze_id: int | None = None  # set for one-off freezes (the id `/release unfreeze` takes)
    created_by: str | None = None

    @property
    def recurring(self) -> bool:
        return self.freeze_id is None

    @property
    def label(self) -> str:
        return f"freeze #{self.freeze_id}" if self.freeze_id is not None else "policy freeze"

    def covers(self, environment: str, at: datetime) -> bool:
        return environment in self.environments and self.start <= at < self.end

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end

    def as_active(self) -> ActiveFreeze:
        return ActiveFreeze(label=self.label, reason=self.reason, ends_at=self.end, freeze_id=self.freeze_id)


@dataclass(frozen=True)
class WeeklySpan:
    """`fri 16:00 - mon 08:00`: a start weekday and wall time, and how long after it (in wall time) it ends."""

    weekday: int  # Monday is 0
    start: time
    days: int  # whole days from the start day to the end day (0-7)
    end: time


def parse_every(text: str) -> WeeklySpan:
    """Parse `fri 16:00 - mon 08:00`. A span that ends where (or before) it starts wraps into the next week."""
    match = _EVERY.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not like 'fri 16:00 - mon 08:00'")
    start_day, sh, sm, end_day, eh, em = match.groups()
    start, end = _clock(int(sh), int(sm)), _clock(int(eh), int(em))
    days = (WEEKDAYS.index(end_day) - WEEKDAYS.index(start_day)) % 7
    if days == 0 and end <= start:
        days = 7
    return WeeklySpan(WEEKDAYS.index(start_day), start, days, end)


def _clock(hour: int, minute: int) -> time:
    if hour > 23 or minute > 59:
        raise ValueError(f"{hour:02d}:{minute:02d} is not a time of day (00:00-23:59)")
    return time(hour, minute)


def parse_policy_time(text: str, tz: ZoneInfo, *, end: bool = False) -> datetime:
    """An explicit policy date or date-time, read in `tz`. A date alone is the start of that day, or for
    `end` the end of it (so `end = "2026-12-31"` includes New Year's Eve)."""
    raw = text.strip()
    if len(raw) == 10:
        day = date.fromisoformat(raw) + (timedelta(days=1) if end else timedelta())
        return wall_to_utc(datetime.combine(day, time()), tz, latest=end)
    parsed = datetime.fromisoformat(raw)
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return wall_to_utc(parsed, tz, latest=end)


def wall_to_utc(wall: datetime, tz: ZoneInfo, *, latest: bool = False) -> datetime:
    """A naive wall-clock time in `tz` as an aware UTC instant, defined even around DST changes.

    A time that happens twice (clocks go back) is its first occurrence, or its second when `latest`: a freeze
    starts at the earliest and ends at the latest reading. A time that never happens (clocks go forward) is the
    instant of the change, when the wall clock first reads later than it.
    """
    early = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if early.astimezone(tz).replace(tzinfo=None) == wall:  # the wall time exists
        return max(early, late) if latest else min(early, late)
    # In a gap, fold=1 lands before the change and fold=0 after it; find the change to the second.
    low, high = min(early, late), max(early, late)
    before = low.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def weekly_occurrences(
    span: WeeklySpan, tz: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Every occurrence of `span` in `tz` that overlaps [start, end), as UTC pairs, in order."""
    first_day = start.astimezone(tz).date() - timedelta(days=span.days + 7)
    offset = (span.weekday - first_day.weekday()) % 7
    day = first_day + timedelta(days=offset)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    found: list[tuple[datetime, datetime]] = []
    while day <= last_day:
        begins = wall_to_utc(datetime.combine(day, span.start), tz)
        ends = wall_to_utc(datetime.combine(day + timedelta(days=span.days), span.end), tz, latest=True)
        if begins < end and start < ends:
            found.append((begins, ends))
        day += WEEK
    return found


def rule_zone(rule: RecurringFreeze, policy: Policy) -> ZoneInfo:
    return ZoneInfo(rule.timezone or policy.timezone)


def rule_windows(rule: RecurringFreeze, policy: Policy, start: datetime, end: datetime) -> list[FreezeWindow]:
    """The occurrences of one policy freeze that overlap [start, end)."""
    tz = rule_zone(rule, policy)
    envs = frozenset(rule.environments)
    if rule.every:
        pairs = weekly_occurrences(parse_every(rule.every), tz, start, end)
    else:
        assert rule.start
        assert rule.end
        pairs = [(parse_policy_time(rule.start, tz), parse_policy_time(rule.end, tz, end=True))]
    return [FreezeWindow(envs, s, e, rule.reason) for s, e in pairs if s < end and start < e]


def policy_windows(
    policy: Policy, start: datetime, end: datetime, *, environment: str | None = None
) -> list[FreezeWindow]:
    """Every policy freeze occurrence overlapping [start, end), optionally only those of one environment."""
    windows = [
        window
        for rule in policy.freezes
        if environment is None or environment in rule.environments
        for window in rule_windows(rule, policy, start, end)
    ]
    return sorted(windows, key=lambda w: (w.start, w.end))


def covering(windows: Iterable[FreezeWindow], environment: str, at: datetime) -> list[FreezeWindow]:
    """The freezes in force for `environment` at `at`, the one ending last first (it says how long to wait)."""
    return sorted((w for w in windows if w.covers(environment, at)), key=lambda w: w.end, reverse=True)


def describe_rule(rule: RecurringFreeze) -> str:
    """`every fri 16:00 - mon 08:00 (Europe/Berlin)`, or the explicit dates, for listings."""
    when = f"every {rule.every}" if rule.every else f"{rule.start} – {rule.end}"
    return f"{when} ({rule.timezone})" if rule.timezone else when


def merge_sorted(*groups: Sequence[FreezeWindow]) -> list[FreezeWindow]:
    return sorted((w for group in groups for w in group), key=lambda w: (w.start, w.end, w.label))
