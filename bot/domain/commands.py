"""The typed commands `/release` text parses into. Each is a `Command`; `bot.domain.grammar` registers the verb,
usage line and parser that produce it, and `handlers/` registers the route that answers it."""

from dataclasses import dataclass
from typing import Literal

from bot.domain.delivery_metrics import DEFAULT_DAYS
from bot.domain.validation import ReleaseRef


class Command:
    """Base of every parsed `/release` command."""


@dataclass(frozen=True)
class Help(Command):
    topic: str | None = None
    unknown: str | None = None  # the subcommand that was not understood


@dataclass(frozen=True)
class Propose(Command):
    service: str | None = None  # None: open the modal
    version: str | None = None
    summary: str | None = None
    commit: str | None = None  # `--commit <sha>`
    risk: str | None = None  # `--risk low|medium|high`


@dataclass(frozen=True)
class ListReleases(Command):
    service: str | None = None


@dataclass(frozen=True)
class Show(Command):
    ref: ReleaseRef


@dataclass(frozen=True)
class History(Command):
    ref: ReleaseRef
    page: int = 1  # 1: the newest events; each next page goes further back


@dataclass(frozen=True)
class Cancel(Command):
    ref: ReleaseRef


@dataclass(frozen=True)
class Edit(Command):
    ref: ReleaseRef
    field: Literal["summary", "changes", "rollback_plan", "risk", "commit_sha"]
    text: str


@dataclass(frozen=True)
class Approve(Command):
    ref: ReleaseRef
    comment: str = ""


@dataclass(frozen=True)
class Reject(Command):
    ref: ReleaseRef
    reason: str


@dataclass(frozen=True)
class Withdraw(Command):
    ref: ReleaseRef


@dataclass(frozen=True)
class Deploy(Command):
    ref: ReleaseRef
    environment: str
    override_reason: str | None = None


@dataclass(frozen=True)
class Verify(Command):
    ref: ReleaseRef
    environment: str
    passed: bool
    note: str = ""


@dataclass(frozen=True)
class Rollback(Command):
    service: str
    environment: str
    reason: str


@dataclass(frozen=True)
class StatusReport(Command):
    service: str | None = None


@dataclass(frozen=True)
class Freeze(Command):
    environment: str
    start: str
    end: str
    reason: str


@dataclass(frozen=True)
class ListFreezes(Command):
    pass


@dataclass(frozen=True)
class Unfreeze(Command):
    freeze_id: int


@dataclass(frozen=True)
class Calendar(Command):
    days: int = 14


@dataclass(frozen=True)
class CalendarLink(Command):
    pass


@dataclass(frozen=True)
class Schedule(Command):
    ref: ReleaseRef
    when: str
    duration: str | None = None


@dataclass(frozen=True)
class Subscribe(Command):
    service: str
    on: bool = True


@dataclass(frozen=True)
class ReviewCommand(Command):
    ref: ReleaseRef
    verb: Literal["start", "close"]


@dataclass(frozen=True)
class ActionAdd(Command):
    ref: ReleaseRef
    owner_id: str
    due: str
    text: str


@dataclass(frozen=True)
class ActionDone(Command):
    action_id: int


@dataclass(frozen=True)
class ListActions(Command):
    mine: bool = False


@dataclass(frozen=True)
class MetricsReport(Command):
    service: str | None = None  # None: every service
    days: int = DEFAULT_DAYS
