"""A release's health after a deployment, as pure rules: which alerts count against it (the watch), how long it has
soaked healthy in an environment, and what an automatic rollback does with a still-firing alert."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Decision(StrEnum):
    """What was decided about a firing alert that counts against a release."""

    NONE = ""
    ROLLBACK_REQUESTED = "rollback_requested"  # asked the service's deployer (automatically or by a person)
    ROLLED_BACK = "rolled_back"  # rolled back at once (no deployer: a person recorded it)
    ROLLBACK_NEEDED = "rollback_needed"  # automatic, but no deployer: the environment's deployers were paged
    DRY_RUN = "dry_run"  # auto_rollback = "dry-run": the thread was told what would have happened
    NOT_RELATED = "not_related"  # someone who may deploy said the alert is not this release's doing


CLOCK_SKEW = timedelta(minutes=1)
NOT_LIVE = "it is not live there"  # why a soak has not started: the version never ran in that environment

# Decisions that hold the version back from promotion until someone says "Not related".
HOLDING = frozenset({Decision.ROLLBACK_REQUESTED, Decision.ROLLED_BACK, Decision.ROLLBACK_NEEDED})
# An alert already acted on is not acted on again (Alertmanager re-sends, two replicas, a double click).
ACTED = frozenset({*HOLDING, Decision.NOT_RELATED})


def in_watch(deployed_at: datetime, watch: timedelta, alert_starts_at: datetime) -> bool:
    """An alert counts against the deployment when it began within `watch` after it (or within `CLOCK_SKEW`
    before it: the sender's clock and evaluation interval are not ours). One that began earlier was there before."""
    return deployed_at - CLOCK_SKEW <= alert_starts_at <= deployed_at + watch


class AutoAction(StrEnum):
    NOTHING = "nothing"
    DRY_RUN = "dry_run"
    REQUEST = "request"  # ask the service's deployer for the rollback
    PAGE = "page"  # no deployer: record that a rollback is needed and page the environment's deployers


def automatic(
    auto_rollback: bool | str, *, still_firing: bool, decided: str, still_live: bool, deployer: bool
) -> AutoAction:
    """What the automatic rollback does when an alert's grace has passed."""
    if auto_rollback is False or not still_firing or decided or not still_live:
        return AutoAction.NOTHING
    if auto_rollback == "dry-run":
        return AutoAction.DRY_RUN
    return AutoAction.REQUEST if deployer else AutoAction.PAGE


@dataclass(frozen=True)
class Soak:
    """How long a version has run healthy in the environment before the one it is going to."""

    environment: str  # where it soaks (the previous environment)
    required: timedelta
    since: datetime | None  # when the healthy run began; None: not running healthy there now
    now: datetime
    unhealthy: str = ""  # why not, when `since` is None: "was rolled back", "HighErrorRate is firing"

    @property
    def left(self) -> timedelta:
        if self.since is None:
            return self.required
        return max(self.required - (self.now - self.since), timedelta(0))

    @property
    def met(self) -> bool:
        return self.since is not None and self.left == timedelta(0)

    @property
    def ends_at(self) -> datetime | None:
        return None if self.since is None else self.since + self.required


@dataclass(frozen=True)
class AlertSpan:
    """A firing alert that counted against the version in the soak environment: when it began and ended."""

    name: str
    starts_at: datetime
    ends_at: datetime | None  # None: still firing


def soak_since(
    deployed_at: datetime | None, rolled_back: bool, alerts: Iterable[AlertSpan]
) -> tuple[datetime | None, str]:
    """When the healthy run began: the deployment, or the end of the last alert that counted against it since.
    None (with why) when it is not live there, was rolled back, or an alert is still firing."""
    if deployed_at is None:
        return None, NOT_LIVE
    if rolled_back:
        return None, "it was rolled back there"
    since = deployed_at
    for alert in alerts:
        if alert.ends_at is None:
            return None, f"{alert.name} is firing"
        since = max(since, alert.ends_at)
    return since, ""


def countdown(left: timedelta) -> str:
    """ "1h12m", "45m", "30s": the soak left, for the card."""
    seconds = int(left.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"
