"""`[locks]`: how long a deploy lock lasts when its taker names no time, the longest it may last, and who may still
deploy through an all-services (`*`, incident) lock. Its own module, so `bot.domain.policy` only names the table."""

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, model_validator

from bot.domain.policy_fields import Duration, EntityId
from bot.domain.timeparse import parse_duration


class Locks(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Duration = "2h"  # `/release lock …` without `for <duration>`
    max: Duration = "24h"  # the longest a lock may be taken or extended for
    bypass: list[EntityId] = []  # may deploy through a `*` lock (audited)

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
