"""Durations (`90s`, `30m`, `4h`, `2d`) and points in time (`now`, `+2h`, ISO 8601) as people type them.

Nothing further than `HORIZON` is taken, either way: `+999999w` or `0001-01-01` is a typo, and would overflow
Python's datetime (years 1 to 9999) somewhere downstream if let through.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.errors import InvalidInput
from bot.domain.message import Code

_DURATION = re.compile(r"^(\d{1,6})([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
HORIZON = timedelta(days=36525)  # 100 years
_TOO_FAR = "{text} is too far from now; give a time within 100 years, like `+2h`, `2026-12-01` or `2026-12-01T14:00`."


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `4h`, `2d`, `1w`; also a compound `1h30m`."""
    seconds = _seconds(text)
    if seconds > HORIZON.total_seconds():
        raise InvalidInput("{text} is too long; a duration may be at most 100 years (`5200w`).", text=Code(text, 30))
    return timedelta(seconds=seconds)


def _seconds(text: str) -> int:
    raw = text.strip().lower()
    parts = re.findall(r"\d{1,6}[smhdw]", raw)
    if not parts or "".join(parts) != raw:
        raise InvalidInput(
            "{text} is not a duration; use a number and a unit, like `90s`, `30m`, `4h` or `2d`.", text=Code(text, 30)
        )
    seconds = 0
    for part in parts:
        match = _DURATION.match(part)
        assert match is not None
        seconds += int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise InvalidInput("{text} must be longer than zero.", text=Code(text, 30))
    return seconds


def after(start: datetime, length: timedelta) -> datetime:
    """`start + length`, or a clear refusal where that passes the end of the calendar (year 9999)."""
    try:
        return start + length
    except OverflowError:
        raise InvalidInput("That would end after the year 9999; pick an earlier time.", field="window") from None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            "{name} is not a known time zone; use an IANA name like `Europe/Berlin`.", name=Code(name, 40)
        ) from exc


def parse_when(text: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    """A point in time as an aware UTC datetime.

    Accepts `now`, a relative offset `+2h`, an ISO 8601 date-time (`2026-12-01T14:00`, with or without offset),
    or a date alone (`2026-12-01`, midnight in `tz`). Naive values are read in `tz`.
    """
    raw = text.strip()
    if raw.lower() == "now":
        return now.astimezone(UTC)
    if raw.startswith("+"):
        seconds = _seconds(raw[1:])
        if seconds > HORIZON.total_seconds():
            raise InvalidInput(_TOO_FAR, text=Code(text, 40))
        return (now + timedelta(seconds=seconds)).astimezone(UTC)
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            parsed = datetime.combine(day, time(0, 0))
        else:
            parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(
            "{text} is not a time; use `now`, `+2h`, `2026-12-01` or `2026-12-01T14:00` (ISO 8601).",
            text=Code(text, 40),
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        at = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31T23:59 west of it
        raise InvalidInput(_TOO_FAR, text=Code(text, 40)) from None
    if abs(at - now) > HORIZON:
        raise InvalidInput(_TOO_FAR, text=Code(text, 40))
    return at
