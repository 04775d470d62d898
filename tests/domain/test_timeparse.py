"""Times and durations as people type them: what is taken, and that nothing overflows into a crash."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.errors import InvalidInput
from bot.domain.timeparse import HORIZON, after, parse_duration, parse_when

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("now", "UTC", NOW),
        ("+2h", "UTC", NOW + timedelta(hours=2)),
        ("+1h30m", "UTC", NOW + timedelta(minutes=90)),
        ("+5200w", "UTC", NOW + timedelta(weeks=5200)),  # just inside the horizon
        ("2026-12-01", "Europe/Berlin", datetime(2026, 11, 30, 23, 0, tzinfo=UTC)),
        ("2026-12-01T14:00", "UTC", datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),
        ("2026-12-01T14:00+02:00", "Europe/Berlin", datetime(2026, 12, 1, 12, 0, tzinfo=UTC)),
        ("2000-01-01", "UTC", datetime(2000, 1, 1, tzinfo=UTC)),
    ],
)
def test_times_people_type(text: str, tz: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW, tz=ZoneInfo(tz)) == expected


@pytest.mark.parametrize(
    ("text", "tz"),
    [
        ("+999999w", "UTC"),  # past the year 9999
        ("+999999w999999w999999w", "UTC"),
        ("+5300w", "UTC"),  # a century and more
        ("0001-01-01", "UTC"),
        ("0001-01-01", "Asia/Tokyo"),  # before the year 1 in UTC
        ("0001-01-01T00:00+14:00", "UTC"),
        ("9999-12-31T23:59", "Etc/GMT+12"),  # after the year 9999 in UTC
        ("9999-12-31T23:59", "Pacific/Kiritimati"),
        ("9999-12-31T23:59-12:00", "UTC"),
        ("9999-12-31", "UTC"),
        ("1900-01-01", "UTC"),
    ],
)
def test_times_that_overflow_or_are_absurd_are_a_clear_input_error(text: str, tz: str) -> None:
    with pytest.raises(InvalidInput, match="too far from now; give a time within 100 years") as refused:
        parse_when(text, now=NOW, tz=ZoneInfo(tz))
    assert text in refused.value.plain


@pytest.mark.parametrize("text", ["999999w", "5218w", "999999w" * 200, "36526d"])
def test_durations_longer_than_a_century_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="at most 100 years"):
        parse_duration(text)


def test_a_century_is_the_longest_duration() -> None:
    assert parse_duration("36525d") == HORIZON


def test_an_end_past_the_calendar_is_refused_for_the_window_field() -> None:
    late = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
    assert after(late, timedelta(minutes=29)) == datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="after the year 9999") as refused:
        after(late, timedelta(hours=1))
    assert refused.value.field == "window"


@given(text=st.text(max_size=40), tz=st.sampled_from(["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "Europe/Berlin"]))
def test_any_text_is_a_time_or_an_input_error(text: str, tz: str) -> None:
    try:
        at = parse_when(text, now=NOW, tz=ZoneInfo(tz))
    except InvalidInput:
        return
    assert at.tzinfo is UTC
    assert abs(at - NOW) <= HORIZON


@given(moment=st.datetimes(), offset=st.integers(-14 * 60, 14 * 60), tz=st.sampled_from(["UTC", "Etc/GMT+12"]))
def test_any_iso_time_is_a_time_or_an_input_error(moment: datetime, offset: int, tz: str) -> None:
    sign = "+" if offset >= 0 else "-"
    text = moment.isoformat(timespec="minutes") + f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    for typed in (text, moment.date().isoformat(), moment.isoformat(timespec="minutes")):
        try:
            at = parse_when(typed, now=NOW, tz=ZoneInfo(tz))
        except InvalidInput:  # anything else (an OverflowError) fails the test
            continue
        assert at.tzinfo is UTC
        assert abs(at - NOW) <= HORIZON
