"""The small value types every policy section validates with: Slack ids, durations, time zones, spans of hours.
Each section's model (bot/domain/policy*.py) uses these rather than a validator of its own."""

import re
from typing import Annotated

from pydantic import AfterValidator

from bot.domain.timeparse import parse_duration, zone

ENTITY_ID = re.compile(r"^[UWS][A-Z0-9]{2,20}$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,20}$")


def _entity(value: str) -> str:
    if not ENTITY_ID.match(value):
        raise ValueError(f"{value!r} is not a Slack user id (U…/W…) or user group id (S…)")
    return value


def _channel(value: str) -> str:
    if not CHANNEL_ID.match(value):
        raise ValueError(f"{value!r} is not a Slack channel id (C…/G…)")
    return value


def _duration(value: str) -> str:
    try:
        parse_duration(value)
    except Exception:
        raise ValueError(f"{value!r} is not a duration like '90s', '30m', '4h' or '2d'") from None
    return value


def _timezone(value: str) -> str:
    try:
        zone(value)
    except Exception:
        raise ValueError(f"{value!r} is not an IANA time zone like 'Europe/Berlin'") from None
    return value


def _hours(value: str) -> str:
    match = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", value)
    if not match:
        raise ValueError(f"{value!r} is not a span of hours like '09:00-18:00'")
    start = int(match.group(1)) * 60 + int(match.group(2))
    end = int(match.group(3)) * 60 + int(match.group(4))
    if int(match.group(2)) > 59 or int(match.group(4)) > 59 or start >= end or end > 24 * 60:
        raise ValueError(f"{value!r} must start before it ends, within 00:00-24:00")
    return value


EntityId = Annotated[str, AfterValidator(_entity)]
ChannelId = Annotated[str, AfterValidator(_channel)]
Duration = Annotated[str, AfterValidator(_duration)]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
Hours = Annotated[str, AfterValidator(_hours)]
