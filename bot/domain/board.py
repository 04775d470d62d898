"""The web board's pure rules: a release's next step in words, and the weeks of a calendar with what happens each
day (windows and freezes), in the policy's time zone."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.domain.lifecycle import Status
from bot.domain.policy import Policy


def next_step(policy: Policy, status: Status, reached: str | None, deploying: Sequence[str] = ()) -> str:
    """What a release in flight waits for, in a few words: a deployment under way, approvals, a regression
    sign-off, the next environment, or (live in the last one) its post-release review."""
    if deploying:
        return "Deploying to " + ", ".join(deploying)
    names = policy.environment_names
    following = names[names.index(reached) + 1] if reached in names and reached != names[-1] else None
    if reached is None:
        following = names[0]
    if following is None:
        return "Post-release review"
    target = policy.environment(following)
    needs_approval = target is not None and target.needs_approval
    if needs_approval and status == Status.PROPOSED:
        return f"Approvals for {following}"
    here = policy.environment(reached) if reached is not None else None
    if here is not None and here.regression_required:
        return f"Regression sign-off in {reached}, then deploy to {following}"
    return f"Deploy to {following}"


@dataclass(frozen=True)
class Entry:
    """Something on the calendar: a release's planned window or a freeze."""

    kind: Literal["window", "freeze"]
    title: str
    detail: str
    start: datetime
    end: datetime
    conflict: bool = False


@dataclass(frozen=True)
class Day:
    day: date
    entries: tuple[Entry, ...]
    shown: bool  # within the calendar's range (weeks are padded to whole weeks)
    today: bool


def calendar(entries: Iterable[Entry], *, start: datetime, days: int, tz: ZoneInfo) -> list[list[Day]]:
    """Whole weeks (Monday first) covering `days` days from `start`, each day with the entries that overlap it
    in `tz`, in time order; padding days outside the range carry nothing."""
    first = start.astimezone(tz).date()
    last = first + timedelta(days=days - 1)
    monday = first - timedelta(days=first.weekday())
    sunday = last + timedelta(days=6 - last.weekday())
    by_day: dict[date, list[Entry]] = {}
    for entry in sorted(entries, key=lambda e: (e.start, e.end)):
        day = max(entry.start.astimezone(tz).date(), first)
        # an entry ending at midnight does not take the next day too
        end = (entry.end - timedelta(microseconds=1)).astimezone(tz).date() if entry.end > entry.start else day
        while day <= min(end, last):
            by_day.setdefault(day, []).append(entry)
            day += timedelta(days=1)
    weeks: list[list[Day]] = []
    day = monday
    while day <= sunday:
        week = []
        for _ in range(7):
            shown = first <= day <= last
            week.append(Day(day, tuple(by_day.get(day, ())) if shown else (), shown, day == first))
            day += timedelta(days=1)
        weeks.append(week)
    return weeks
