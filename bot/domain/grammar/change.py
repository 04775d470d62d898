"""Change management commands: freezes, the calendar, scheduling a window, and subscriptions."""

from dataclasses import dataclass

from bot.domain.grammar.arguments import Problem, environment, item_id, need, no_extra, service_only, take
from bot.domain.grammar.registry import Command, verb
from bot.domain.message import Code
from bot.domain.validation import MAX_REASON, ReleaseRef, check_text, is_number, parse_ref


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


@verb("freeze", "freeze <env> <from> <until> <reason…>", examples=("freeze prod now +2h release train",))
def _freeze(rest: str) -> Command:
    words, reason = take(rest, 3)
    need(words, 3, "the environment, the start and the end")
    if not reason:
        raise Problem("Missing the reason, shown to everyone who is refused.")
    return Freeze(environment(words[0]), words[1], words[2], check_text(reason, label="reason", limit=MAX_REASON))


@verb("freezes", "freezes", examples=("freezes",))
def _freezes(rest: str) -> Command:
    no_extra(rest)
    return ListFreezes()


@verb("unfreeze", "unfreeze <id>", examples=("unfreeze 3",))
def _unfreeze(rest: str) -> Command:
    words, extra = take(rest, 1)
    need(words, 1, "the id")
    no_extra(extra)
    return Unfreeze(item_id(words[0]))


@verb("calendar", "calendar [days] | calendar link", examples=("calendar", "calendar link"))
def _calendar(rest: str) -> Command:
    words, extra = take(rest, 1)
    no_extra(extra)
    if not words:
        return Calendar()
    if words[0].lower() == "link":
        return CalendarLink()
    if not is_number(words[0]) or not 1 <= int(words[0]) <= 366:
        raise Problem("{days} is not a number of days between 1 and 366.", days=Code(words[0], 20))
    return Calendar(int(words[0]))


@verb("schedule", "schedule <service@version> <when> [duration]", examples=("schedule payments@2.4.0 +2h",))
def _schedule(rest: str) -> Command:
    words, extra = take(rest, 3)
    need(words, 2, "the release and when (`now`, `+2h` or `2026-12-01T14:00`)")
    no_extra(extra)
    return Schedule(parse_ref(words[0]), words[1], words[2] if len(words) > 2 else None)


@verb("subscribe", "subscribe <service>", examples=("subscribe payments",))
def _subscribe(rest: str) -> Command:
    return Subscribe(service_only(rest), on=True)


@verb("unsubscribe", "unsubscribe <service>", examples=("unsubscribe payments",))
def _unsubscribe(rest: str) -> Command:
    return Subscribe(service_only(rest), on=False)


@dataclass(frozen=True)
class Cab(Command):
    decision: str | None = None  # None: show the next agenda
    ref: ReleaseRef | None = None
    note: str = ""


_CAB_DECISIONS = ("approve", "reject", "defer")


@verb(
    "cab",
    "cab [approve|reject|defer <service@version> [note…]]",
    examples=("cab", "cab approve payments@2.4.0 discussed at Tuesday's meeting"),
)
def _cab(rest: str) -> Command:
    words, text = take(rest, 2)
    if not words:
        return Cab()
    decision = words[0].lower()
    if decision not in _CAB_DECISIONS:
        raise Problem("{word}: say `approve`, `reject` or `defer`, then the release.", word=Code(words[0], 20))
    need(words, 2, "the release, as `service@version`")
    return Cab(decision, parse_ref(words[1]), check_text(text, label="note", limit=MAX_REASON, required=False))
