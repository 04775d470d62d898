"""`[locks]`: how long a deploy lock lasts when its taker names no time, the longest it may last, and who may still
deploy through an all-services (`*`, incident) lock. Its own module, so `bot.domain.policy` only names the table."""

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from bot.domain.timeparse import parse_duration

_ENTITY_ID = re.compile(r"^[UWS][A-Z0-9]{2,20}$")  # as bot.domain.policy.ENTITY_ID


def _entity(value: str) -> str:
    if not _ENTITY_ID.match(value):
        raise ValueError(f"{value!r} is not a Slack user id (U…/W…) or user group id (S…)")
    return value


def _duration(value: str) -> str:
    try:
        parse_duration(value)
    except Exception:
        raise ValueError(f"{value!r} is not a duration like '90s', '30m', '4h' or '2d'") from None
    return value


class Locks(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Annotated[str, AfterValidator(_duration)] = "2h"  # `/release lock …` without `for <duration>`
    max: Annotated[str, AfterValidator(_duration)] = "24h"  # the longest a lock may be taken or extended for
    bypass: list[Annotated[str, AfterValidator(_entity)]] = []  # may deploy through a `*` lock (audited)

    @model_validator(mode="after")
    def _default_within_max(self) -> "Locks":
        if parse_duration(self.default) > parse_duration(self.max):
            raise ValueError(f"default {self.default!r} is longer than max {self.max!r}")
        return self

    @property
    def default_length(self) -> timedelta:
        return parse_duration(self.default)

    @property
    def max_length(self) -> timedelta:
        return parse_duration(self.max)
