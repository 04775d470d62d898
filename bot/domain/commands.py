"""The typed commands `/release` text parses into, and the usage line of each subcommand."""

from dataclasses import dataclass
from typing import Literal

from bot.domain.validation import ReleaseRef

USAGE: dict[str, str] = {
    "help": "help",
    "propose": "propose [<service> <version> <summary…>]",
    "list": "list [service]",
    "show": "show <service@version>",
    "history": "history <service@version>",
    "cancel": "cancel <service@version>",
    "edit": "edit <service@version> summary|changes|rollback <text…>",
    "approve": "approve <service@version> [comment…]",
    "reject": "reject <service@version> <reason…>",
    "withdraw": "withdraw <service@version>",
    "deploy": "deploy <service@version> <env> [--override <reason…>]",
    "verify": "verify <service@version> <env> passed|failed [note…]",
    "rollback": "rollback <service> <env> <reason…>",
    "status": "status [service]",
    "freeze": "freeze <env> <from> <until> <reason…>",
    "freezes": "freezes",
    "unfreeze": "unfreeze <id>",
    "calendar": "calendar [days] | calendar link",
    "schedule": "schedule <service@version> <when> [duration]",
    "subscribe": "subscribe <service>",
    "unsubscribe": "unsubscribe <service>",
    "review": "review start|close <service@version>",
    "action": "action add <service@version> <@owner> <due> <text…> | action done <id>",
    "actions": "actions [mine]",
}


@dataclass(frozen=True)
class Help:
    topic: str | None = None
    unknown: str | None = None  # the subcommand that was not understood


@dataclass(frozen=True)
class Propose:
    service: str | None = None  # None: open the modal
    version: str | None = None
    summary: str | None = None


@dataclass(frozen=True)
class ListReleases:
    service: str | None = None


@dataclass(frozen=True)
class Show:
    ref: ReleaseRef


@dataclass(frozen=True)
class History:
    ref: ReleaseRef


@dataclass(frozen=True)
class Cancel:
    ref: ReleaseRef


@dataclass(frozen=True)
class Edit:
    ref: ReleaseRef
    field: Literal["summary", "changes", "rollback_plan"]
    text: str


@dataclass(frozen=True)
class Approve:
    ref: ReleaseRef
    comment: str = ""


@dataclass(frozen=True)
class Reject:
    ref: ReleaseRef
    reason: str


@dataclass(frozen=True)
class Withdraw:
    ref: ReleaseRef


@dataclass(frozen=True)
class Deploy:
    ref: ReleaseRef
    environment: str
    override_reason: str | None = None


@dataclass(frozen=True)
class Verify:
    ref: ReleaseRef
    environment: str
    passed: bool
    note: str = ""


@dataclass(frozen=True)
class Rollback:
    service: str
    environment: str
    reason: str


@dataclass(frozen=True)
class StatusReport:
    service: str | None = None


@dataclass(frozen=True)
class Freeze:
    environment: str
    start: str
    end: str
    reason: str


@dataclass(frozen=True)
class ListFreezes:
    pass


@dataclass(frozen=True)
class Unfreeze:
    freeze_id: int


@dataclass(frozen=True)
class Calendar:
    days: int = 14


@dataclass(frozen=True)
class CalendarLink:
    pass


@dataclass(frozen=True)
class Schedule:
    ref: ReleaseRef
    when: str
    duration: str | None = None


@dataclass(frozen=True)
class Subscribe:
    service: str
    on: bool = True


@dataclass(frozen=True)
class ReviewCommand:
    ref: ReleaseRef
    verb: Literal["start", "close"]


@dataclass(frozen=True)
class ActionAdd:
    ref: ReleaseRef
    owner_id: str
    due: str
    text: str


@dataclass(frozen=True)
class ActionDone:
    action_id: int


@dataclass(frozen=True)
class ListActions:
    mine: bool = False


Command = (
    Help
    | Propose
    | ListReleases
    | Show
    | History
    | Cancel
    | Approve
    | Reject
    | Withdraw
    | Edit
    | Deploy
    | Verify
    | Rollback
    | StatusReport
    | Freeze
    | ListFreezes
    | Unfreeze
    | Calendar
    | CalendarLink
    | Schedule
    | Subscribe
    | ReviewCommand
    | ActionAdd
    | ActionDone
    | ListActions
)
