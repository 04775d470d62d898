"""The policy's health keys: `[alerts]` (how alert labels name a service and an environment) and, per environment,
`min_soak`, `watch`, `auto_rollback` and `rollback_grace` (after a deployment, what alerts mean for the release)."""

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from bot.domain.policy_fields import Duration
from bot.domain.timeparse import parse_duration

LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")  # Prometheus label names
DEFAULT_WATCH = "30m"
DEFAULT_GRACE = "2m"


# false: alerts are only shown; "dry-run": the thread says what an automatic rollback would have done; true: done.
AutoRollback = StrictBool | Literal["dry-run"]


class AlertsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    service_label: Annotated[str, Field(pattern=LABEL.pattern)] = "service"
    environment_label: Annotated[str, Field(pattern=LABEL.pattern)] = "environment"
    # label value → pipeline environment, when they differ ({ production = "prod" }); others are taken as they are
    environments: dict[str, Annotated[str, Field(min_length=1, max_length=31)]] = {}

    def environment_of(self, label_value: str) -> str:
        return self.environments.get(label_value, label_value)


class EnvironmentHealth(BaseModel):
    """An environment's health keys (`Environment` inherits them): what alerts mean after a deployment there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_soak: Duration | None = None  # run this long, healthy, in the previous environment first
    watch: Duration = DEFAULT_WATCH  # after a deployment here, alerts for the service count against it
    auto_rollback: AutoRollback = False
    rollback_grace: Duration = DEFAULT_GRACE  # still firing this long before an automatic rollback


def duration(value: str | None) -> timedelta | None:
    """A health key's duration (None when unset)."""
    return parse_duration(value) if value else None


def check_alerts(alerts: AlertsSettings, environment_names: list[str]) -> None:
    """`[alerts]` must map label values to environments of the pipeline (a `ValueError` says which do not exist)."""
    unknown = sorted({env for env in alerts.environments.values() if env not in environment_names})
    if unknown:
        raise ValueError(f"alerts.environments maps to unknown environments {unknown}; known: {environment_names}")
