"""Change classes in the policy: `[[standard_changes]]` (pre-authorised templates), `[risk]` (how risk sets the
quorum and which risks go to the CAB), `[emergency]` (who approves an emergency change and when its full approval is
due) and `[cab]` (the change advisory board). Strict like the rest of the policy: an unknown key is an error.

Self-contained (its own small validators) because `bot.domain.policy` imports it."""

import re
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot.domain.policy_fields import ChannelId, Duration, EntityId
from bot.domain.timeparse import parse_duration

Risk = Literal["low", "medium", "high"]
RISK_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2}
_SERVICE = re.compile(r"^(\*|[a-z0-9][a-z0-9._-]{0,62})$")


def _service(value: str) -> str:
    if not _SERVICE.match(value):
        raise ValueError(f"{value!r} is not a service name (lowercase letters, digits, . _ -) or '*'")
    return value


def _meets(value: str) -> str:
    match = re.fullmatch(r"(mon|tue|wed|thu|fri|sat|sun) (\d\d):(\d\d)", value.strip().lower())
    if not match or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise ValueError(f"{value!r} is not a weekday and a time of day like 'Tue 14:00'")
    return f"{match.group(1)} {match.group(2)}:{match.group(3)}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StandardChange(_Strict):
    """A pre-authorised kind of change: a release naming it (service listed, risk at most `max_risk`) needs no
    approval; freezes, regression sign-off and deployer rules still apply."""

    name: str = Field(min_length=1, max_length=60)
    services: list[Annotated[str, AfterValidator(_service)]] = Field(min_length=1)
    max_risk: Risk = "low"
    authorised_by: EntityId
    authorised_on: date

    def covers(self, service: str) -> bool:
        return "*" in self.services or service in self.services


class RiskRules(_Strict):
    approvals: dict[Risk, Annotated[int, Field(ge=0, le=20)]] = {}  # where an environment needs any
    cab: list[Risk] = []  # risks that also need the CAB before the final environment


class EmergencyRules(_Strict):
    approvers: list[EntityId] = []  # default: the release managers
    retro_within: Duration = "24h"

    @property
    def retro_delay(self) -> timedelta:
        return parse_duration(self.retro_within)


class CabRules(_Strict):
    channel: ChannelId | None = None
    members: list[EntityId] = []
    meets: Annotated[str, AfterValidator(_meets)] | None = None  # weekly, in the policy's time zone
    agenda_before: Duration = "24h"

    @model_validator(mode="after")
    def _complete(self) -> "CabRules":
        if (self.channel or self.members or self.meets) and not (self.channel and self.members and self.meets):
            raise ValueError("a CAB needs all of channel, members and meets")
        return self


def unique_names(templates: list[StandardChange]) -> None:
    names = [t.name.lower() for t in templates]
    if len(set(names)) != len(names):
        raise ValueError(f"standard change names must be unique, got {[t.name for t in templates]}")
