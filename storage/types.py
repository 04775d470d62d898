"""Column types that behave the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from bot.domain.lifecycle import Status


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite has no time zones, so store naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_STATUSES = {status.value: status for status in Status}


class StatusType(TypeDecorator[Status]):
    """A release's status: stored as its text (VARCHAR), read back as the `Status` enum."""

    impl = String(20)
    cache_ok = True

    def process_bind_param(self, value: Status | str | None, dialect: Dialect) -> str | None:
        if isinstance(value, Status):
            return value.value
        return None if value is None else Status(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> Status | None:
        # Read on every row of every release read: a dict look-up, not the enum's call (unknown text still raises)
        return None if value is None else _STATUSES.get(value) or Status(value)


def utcnow() -> datetime:
    return datetime.now(UTC)
