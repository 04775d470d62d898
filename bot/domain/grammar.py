"""The `/release` command grammar: text in, one typed command out, or an error that shows the usage."""

import re
from collections.abc import Callable

from bot.domain.commands import (
    USAGE,
    ActionAdd,
    ActionDone,
    Approve,
    Calendar,
    CalendarLink,
    Cancel,
    Command,
    Deploy,
    Edit,
    Freeze,
    Help,
    History,
    ListActions,
    ListFreezes,
    ListReleases,
    Propose,
    Reject,
    ReviewCommand,
    Rollback,
    Schedule,
    Show,
    StatusReport,
    Subscribe,
    Unfreeze,
    Verify,
    Withdraw,
)
from bot.domain.errors import InvalidInput
from bot.domain.mrkdwn import code, escape
from bot.domain.validation import (
    MAX_CHANGES,
    MAX_REASON,
    MAX_ROLLBACK_PLAN,
    MAX_SUMMARY,
    ReleaseRef,
    check_service,
    check_text,
    check_version,
    parse_ref,
)

_ENV = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
_USER = re.compile(r"^<@([UW][A-Z0-9]{2,20})(\|[^>]*)?>$")


_Parser = Callable[[str, str], "Command"]


class UsageError(InvalidInput):
    """Wrong shape for a known subcommand; the message carries its usage line."""

    def __init__(self, verb: str, problem: str) -> None:
        super().__init__(f"{problem}\nUsage: `/release {escape(USAGE[verb])}`")  # `<ref>` is not a link
        self.verb = verb


def _take(text: str, count: int) -> tuple[list[str], str]:
    """The first `count` whitespace-separated words and the untouched rest (free text keeps its spacing)."""
    words: list[str] = []
    rest = text.strip()
    for _ in range(count):
        if not rest:
            break
        head, _, rest = rest.partition(" ")
        words.append(head)
        rest = rest.strip()
    return words, rest


def _env(verb: str, word: str) -> str:
    if not _ENV.match(word):
        raise UsageError(verb, f"{code(word, 30)} is not an environment name.")
    return word


def _id(verb: str, word: str) -> int:
    if not word.isdigit() or len(word) > 12:
        raise UsageError(verb, f"{code(word, 20)} is not an id; use the number shown in the list.")
    return int(word)


def _single_id(verb: str, rest: str) -> int:
    words, extra = _take(rest, 1)
    _need(verb, words, 1, "the id")
    _no_extra(verb, extra)
    return _id(verb, words[0])


def _need(verb: str, words: list[str], count: int, what: str) -> None:
    if len(words) < count:
        raise UsageError(verb, f"Missing {what}.")


def _no_extra(verb: str, rest: str) -> None:
    if rest:
        raise UsageError(verb, f"Unexpected {code(rest, 30)} at the end.")


def parse(text: str) -> Command:
    """Parse the text after `/release`. Unknown subcommands and empty text become `Help`."""
    text = " ".join(text.replace("\u00a0", " ").split(" ")).strip()
    (verb,), rest = _take(text, 1) if text else ([""], "")
    verb = verb.lower()
    if verb in ("", "help"):
        return Help(rest.strip().lower() or None)
    parser = _PARSERS.get(verb)
    if parser is None:
        return Help(None, unknown=verb)
    return parser(verb, rest)


def _propose(verb: str, rest: str) -> Command:
    if not rest:
        return Propose()
    words, summary = _take(rest, 2)
    _need(verb, words, 2, "the version (and a summary)")
    if not summary:
        raise UsageError(verb, "Missing the summary: say in a few words what this release changes.")
    service, version = check_service(words[0]), check_version(words[1])
    return Propose(service, version, check_text(summary, field="summary", limit=MAX_SUMMARY))


def _optional_service(verb: str, rest: str) -> str | None:
    words, extra = _take(rest, 1)
    _no_extra(verb, extra)
    return check_service(words[0]) if words else None


def _ref_only(verb: str, rest: str) -> ReleaseRef:
    words, extra = _take(rest, 1)
    _need(verb, words, 1, "the release, as `service@version`")
    _no_extra(verb, extra)
    return parse_ref(words[0])


def _ref_and_text(verb: str, rest: str, *, required: str | None) -> tuple[ReleaseRef, str]:
    words, text = _take(rest, 1)
    _need(verb, words, 1, "the release, as `service@version`")
    if required and not text:
        raise UsageError(verb, f"Missing {required}.")
    return parse_ref(words[0]), check_text(text, field="text", limit=MAX_REASON, required=False)


_EDITABLE = {
    "summary": ("summary", MAX_SUMMARY),
    "changes": ("changes", MAX_CHANGES),
    "rollback": ("rollback_plan", MAX_ROLLBACK_PLAN),
}


def _edit(verb: str, rest: str) -> Command:
    words, text = _take(rest, 2)
    _need(verb, words, 2, "the release and what to change (`summary`, `changes` or `rollback`)")
    what = words[1].lower()
    if what not in _EDITABLE:
        raise UsageError(verb, f"{code(words[1], 20)}: say `summary`, `changes` or `rollback`.")
    field, limit = _EDITABLE[what]
    if not text:
        raise UsageError(verb, f"Missing the new {what}.")
    new_text = check_text(text, field=what, limit=limit)
    return Edit(parse_ref(words[0]), field, new_text)  # type: ignore[arg-type]


def _deploy(verb: str, rest: str) -> Command:
    words, tail = _take(rest, 2)
    _need(verb, words, 2, "the release and the environment")
    override = None
    if tail:
        flag, _, reason = tail.partition(" ")
        if flag != "--override":
            raise UsageError(verb, f"Unexpected {code(tail, 30)}; only `--override &lt;reason…&gt;` may follow.")
        if not reason.strip():
            raise UsageError(verb, "An override needs a reason, for the audit history.")
        override = check_text(reason, field="override reason", limit=MAX_REASON)
    return Deploy(parse_ref(words[0]), _env(verb, words[1]), override)


def _verify(verb: str, rest: str) -> Command:
    words, note = _take(rest, 3)
    _need(verb, words, 3, "the release, the environment and `passed` or `failed`")
    outcome = words[2].lower()
    if outcome not in ("passed", "failed"):
        raise UsageError(verb, f"{code(words[2], 20)} must be `passed` or `failed`.")
    note = check_text(note, field="note", limit=MAX_REASON, required=False)
    return Verify(parse_ref(words[0]), _env(verb, words[1]), outcome == "passed", note)


def _rollback(verb: str, rest: str) -> Command:
    words, reason = _take(rest, 2)
    _need(verb, words, 2, "the service and the environment")
    if not reason:
        raise UsageError(verb, "Missing the reason: stakeholders are told why.")
    return Rollback(check_service(words[0]), _env(verb, words[1]), check_text(reason, field="reason", limit=MAX_REASON))


def _freeze(verb: str, rest: str) -> Command:
    words, reason = _take(rest, 3)
    _need(verb, words, 3, "the environment, the start and the end")
    if not reason:
        raise UsageError(verb, "Missing the reason, shown to everyone who is refused.")
    return Freeze(_env(verb, words[0]), words[1], words[2], check_text(reason, field="reason", limit=MAX_REASON))


def _calendar(verb: str, rest: str) -> Command:
    words, extra = _take(rest, 1)
    _no_extra(verb, extra)
    if not words:
        return Calendar()
    if words[0].lower() == "link":
        return CalendarLink()
    if not words[0].isdigit() or not 1 <= int(words[0]) <= 366:
        raise UsageError(verb, f"{code(words[0], 20)} is not a number of days between 1 and 366.")
    return Calendar(int(words[0]))


def _schedule(verb: str, rest: str) -> Command:
    words, extra = _take(rest, 3)
    _need(verb, words, 2, "the release and when (`now`, `+2h` or `2026-12-01T14:00`)")
    _no_extra(verb, extra)
    return Schedule(parse_ref(words[0]), words[1], words[2] if len(words) > 2 else None)


def _subscribe(verb: str, rest: str) -> Command:
    words, extra = _take(rest, 1)
    _need(verb, words, 1, "the service")
    _no_extra(verb, extra)
    return Subscribe(check_service(words[0]), on=verb == "subscribe")


def _review(verb: str, rest: str) -> Command:
    words, extra = _take(rest, 2)
    if not words or words[0].lower() not in ("start", "close"):
        raise UsageError(verb, "Say `start` or `close`.")
    _need(verb, words, 2, "the release, as `service@version`")
    _no_extra(verb, extra)
    return ReviewCommand(parse_ref(words[1]), "start" if words[0].lower() == "start" else "close")


def _action(verb: str, rest: str) -> Command:
    words, tail = _take(rest, 1)
    sub = words[0].lower() if words else ""
    if sub == "done":
        ids, extra = _take(tail, 1)
        _need(verb, ids, 1, "the action item id")
        _no_extra(verb, extra)
        return ActionDone(_id(verb, ids[0]))
    if sub != "add":
        raise UsageError(verb, "Say `add` or `done`.")
    words, text = _take(tail, 3)
    _need(verb, words, 3, "the release, the owner (`@someone`) and the due date")
    owner = _USER.match(words[1])
    if not owner:
        raise UsageError(verb, f"{code(words[1], 30)} is not a person; mention them, like `@alice`.")
    if not text:
        raise UsageError(verb, "Missing the text of the action item.")
    return ActionAdd(parse_ref(words[0]), owner.group(1), words[2], check_text(text, field="text", limit=MAX_REASON))


def _actions(verb: str, rest: str) -> Command:
    words, extra = _take(rest, 1)
    _no_extra(verb, extra)
    if words and words[0].lower() != "mine":
        raise UsageError(verb, f"{code(words[0], 20)}: say `mine` or nothing.")
    return ListActions(mine=bool(words))


def _ref_cmd(cls: type[Show] | type[History] | type[Cancel] | type[Withdraw]) -> _Parser:
    return lambda verb, rest: cls(_ref_only(verb, rest))


def _approve(verb: str, rest: str) -> Command:
    ref, comment = _ref_and_text(verb, rest, required=None)
    return Approve(ref, comment)


def _reject(verb: str, rest: str) -> Command:
    ref, reason = _ref_and_text(verb, rest, required="the reason: the proposer needs to know what to fix")
    return Reject(ref, reason)


def _no_args(command: Command) -> _Parser:
    def parser(verb: str, rest: str) -> Command:
        _no_extra(verb, rest)
        return command

    return parser


_PARSERS: dict[str, _Parser] = {
    "propose": _propose,
    "list": lambda verb, rest: ListReleases(_optional_service(verb, rest)),
    "show": _ref_cmd(Show),
    "history": _ref_cmd(History),
    "cancel": _ref_cmd(Cancel),
    "withdraw": _ref_cmd(Withdraw),
    "edit": _edit,
    "approve": _approve,
    "reject": _reject,
    "deploy": _deploy,
    "verify": _verify,
    "rollback": _rollback,
    "status": lambda verb, rest: StatusReport(_optional_service(verb, rest)),
    "freeze": _freeze,
    "freezes": _no_args(ListFreezes()),
    "unfreeze": lambda verb, rest: Unfreeze(_single_id(verb, rest)),
    "calendar": _calendar,
    "schedule": _schedule,
    "subscribe": _subscribe,
    "unsubscribe": _subscribe,
    "review": _review,
    "action": _action,
    "actions": _actions,
}

__all__ = [
    "USAGE",
    "ActionAdd",
    "ActionDone",
    "Approve",
    "Calendar",
    "CalendarLink",
    "Cancel",
    "Command",
    "Deploy",
    "Edit",
    "Freeze",
    "Help",
    "History",
    "ListActions",
    "ListFreezes",
    "ListReleases",
    "Propose",
    "Reject",
    "ReviewCommand",
    "Rollback",
    "Schedule",
    "Show",
    "StatusReport",
    "Subscribe",
    "Unfreeze",
    "UsageError",
    "Verify",
    "Withdraw",
    "parse",
]
