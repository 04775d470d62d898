"""Shared column helpers: every table carries `team_id` and a UTC `created_at`."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field

from storage.types import UTCDateTime, utcnow


def team_id_field() -> Any:
    return Field(max_length=32, index=False, nullable=False)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def time_field(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def text_field(default: str = "") -> Any:
    return Field(default=default, sa_column=Column(Text, nullable=False, server_default=""))


def json_field() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


__all__ = ["created_at_field", "datetime", "json_field", "team_id_field", "text_field", "time_field"]
