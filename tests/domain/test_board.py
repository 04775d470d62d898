"""The web board's pure rules: a release's next step in words, and the calendar's weeks."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.board import Entry, calendar, next_step
from bot.domain.lifecycle import Status
from bot.domain.policy import Policy


@pytest.mark.parametrize(
    ("status", "reached", "deploying", "expected"),
    [
        (Status.PROPOSED, None, (), "Deploy to dev"),  # dev needs no approval
        (Status.PROPOSED, "dev", (), "Deploy to qa"),
        (Status.PROPOSED, "qa", (), "Approvals for prod"),
        (Status.APPROVED, "qa", (), "Regression sign-off in qa, then deploy to prod"),
        (Status.IN_PROGRESS, "prod", (), "Post-release review"),
        (Status.APPROVED, "dev", ("qa",), "Deploying to qa"),
    ],
)
def test_the_next_step(
    policy: Policy, status: Status, reached: str | None, deploying: tuple[str, ...], expected: str
) -> None:
    assert next_step(policy, status, reached, deploying) == expected


def _entry(start: datetime, hours: float, title: str = "w") -> Entry:
    return Entry("window", title, "", start, start + timedelta(hours=hours))


def test_the_calendar_is_whole_weeks_monday_first_with_each_day_s_entries() -> None:
    start = datetime(2026, 12, 2, 9, tzinfo=UTC)  # a Wednesday
    freeze = Entry(
        "freeze", "Freeze: prod", "close", datetime(2026, 12, 5, 22, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC)
    )
    weeks = calendar([freeze, _entry(start + timedelta(days=1), 1)], start=start, days=30, tz=ZoneInfo("UTC"))
    days = [day for week in weeks for day in week]
    assert all(len(week) == 7 for week in weeks)
    assert days[0].day == date(2026, 11, 30)
    assert not days[0].shown
    assert days[2].today
    assert days[2].shown
    busy = {day.day: [e.title for e in day.entries] for day in days if day.entries}
    # a freeze ending at midnight does not take the next day
    assert busy == {
        date(2026, 12, 3): ["w"],
        date(2026, 12, 5): ["Freeze: prod"],
        date(2026, 12, 6): ["Freeze: prod"],
        date(2026, 12, 7): ["Freeze: prod"],
    }
    assert days[-1].day.weekday() == 6
    assert not days[-1].shown
    assert sum(day.shown for day in days) == 30


def test_days_are_the_policy_s_time_zone_s() -> None:
    start = datetime(2026, 12, 2, 9, tzinfo=UTC)
    late = _entry(datetime(2026, 12, 3, 23, 30, tzinfo=UTC), 0.5)  # Friday 00:30 in Berlin
    weeks = calendar([late], start=start, days=7, tz=ZoneInfo("Europe/Berlin"))
    busy = [day.day for week in weeks for day in week if day.entries]
    assert busy == [date(2026, 12, 4)]


def test_what_is_outside_the_range_is_left_out() -> None:
    start = datetime(2026, 12, 2, 9, tzinfo=UTC)
    long_freeze = Entry("freeze", "f", "", start - timedelta(days=5), start + timedelta(days=60))
    weeks = calendar([long_freeze], start=start, days=3, tz=ZoneInfo("UTC"))
    busy = [day.day for week in weeks for day in week if day.entries]
    assert busy == [date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 4)]
