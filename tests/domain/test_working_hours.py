"""Working hours: a nudge due outside them waits for the next working moment, in the policy's time zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.working_hours import WorkingHours

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def hours(span: str = "09:00-18:00", days: list[str] | None = None) -> WorkingHours:
    return WorkingHours.parse(span, days if days is not None else WEEKDAYS, BERLIN)


def berlin(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (berlin(2026, 3, 4, 10, 0), berlin(2026, 3, 4, 10, 0)),  # Wednesday inside: now
        (berlin(2026, 3, 4, 8, 59), berlin(2026, 3, 4, 9, 0)),  # before opening: 09:00 the same day
        (berlin(2026, 3, 4, 18, 0), berlin(2026, 3, 5, 9, 0)),  # closing is exclusive: next morning
        (berlin(2026, 3, 6, 17, 30), berlin(2026, 3, 6, 17, 30)),  # Friday afternoon: still working
        (berlin(2026, 3, 6, 19, 0), berlin(2026, 3, 9, 9, 0)),  # Friday evening: Monday morning
        (berlin(2026, 3, 7, 12, 0), berlin(2026, 3, 9, 9, 0)),  # Saturday: Monday morning
        (berlin(2026, 3, 28, 20, 0), berlin(2026, 3, 30, 9, 0)),  # across the spring DST change: 09:00 local
    ],
)
def test_next_working_moment(moment: datetime, expected: datetime) -> None:
    result = hours().next_working_moment(moment)
    assert result == expected
    assert result.tzinfo == UTC
    assert result.astimezone(BERLIN).hour == expected.hour


def test_all_day_every_day_is_always_now() -> None:
    always = hours("00:00-24:00", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    moment = datetime(2026, 3, 7, 3, 0, tzinfo=UTC)
    assert always.always
    assert always.contains(moment)
    assert always.next_working_moment(moment) == moment


def test_all_day_on_weekdays_waits_for_monday() -> None:
    weekdays = hours("00:00-24:00")
    assert weekdays.next_working_moment(berlin(2026, 3, 7, 12, 0)) == berlin(2026, 3, 9, 0, 0)


def test_the_time_zone_decides_the_day() -> None:
    # 23:30 UTC on a Friday is already Saturday in Berlin: no longer a working moment.
    late_friday_utc = datetime(2026, 3, 6, 23, 30, tzinfo=UTC)
    assert not hours("00:00-24:00").contains(late_friday_utc)
