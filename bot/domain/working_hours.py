"""Working hours: when a nudge may reach a person. Pure arithmetic over the policy's days, hours and zone."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.policy import WEEKDAYS

DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class WorkingHours:
    start_minute: int  # minutes after local midnight, inclusive
    end_minute: int  # exclusive; 1440 means "until midnight"
    days: frozenset[int]  # 0 = Monday
    tz: ZoneInfo

    @classmethod
    def parse(cls, hours: str, days: list[str], tz: ZoneInfo) -> "WorkingHours":
        match = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", hours)
        if not match:
            raise ValueError(f"{hours!r} is not a span of hours like '09:00-18:00'")
        start = int(match.group(1)) * 60 + int(match.group(2))
        end = int(match.group(3)) * 60 + int(match.group(4))
        return cls(start, end, frozenset(WEEKDAYS.index(day) for day in days), tz)

    @property
    def always(self) -> bool:
        return self.start_minute == 0 and self.end_minute >= DAY_MINUTES and len(self.days) == 7

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        return local.weekday() in self.days and self.start_minute <= minute < self.end_minute

    def next_working_moment(self, moment: datetime) -> datetime:
        """`moment` itself when inside working hours, else the start of the next working span (UTC)."""
        if self.always or self.contains(moment):
            return moment.astimezone(UTC)
        if not self.days:
            return moment.astimezone(UTC)  # no working days at all: never hold a reminder back forever
        local = moment.astimezone(self.tz)
        for offset in range(0, 8):
            day = (local + timedelta(days=offset)).date()
            if day.weekday() not in self.days:
                continue
            opening = datetime(day.year, day.month, day.day, tzinfo=self.tz) + timedelta(minutes=self.start_minute)
            # Wall-clock arithmetic in a zone with DST: normalise through UTC so 09:00 stays 09:00 local.
            opening = opening.astimezone(UTC).astimezone(self.tz)
            if opening > local:
                return opening.astimezone(UTC)
        raise AssertionError("a working day exists within a week")  # pragma: no cover
