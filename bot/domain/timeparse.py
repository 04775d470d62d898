"""Durations (`90s`, `30m`, `4h`, `2d`) and points in time (`now`, `+2h`, ISO 8601) as people type them."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.errors import InvalidInput
from bot.domain.message import Code

_DURATION = re.compile(r"^(\d{1,6})([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `4h`, `2d`, `1w`; also a compound `1h30m`."""
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
    return timedelta(seconds=seconds)


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
        return (now + parse_duration(raw[1:])).astimezone(UTC)
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
    return parsed.astimezone(UTC)
