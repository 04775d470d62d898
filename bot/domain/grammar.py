"""The `/release` command grammar: text in, one typed command out, or an error that shows the usage.

Each subcommand is one registration, `@verb(name, usage)` on its parser; help, the usage shown with an error and
the tests all read `VERBS`. A parser gets the text after the verb and raises `Problem` for a wrong shape (the
usage line is added here) or a `DomainError` of its own (a bad version, say) that stands by itself.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.commands import (
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
    MetricsReport,
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
from bot.domain.commits import check_commit
from bot.domain.delivery_metrics import DEFAULT_DAYS, MAX_DAYS
from bot.domain.errors import InvalidInput
from bot.domain.message import Code, Message, Value
from bot.domain.validation import (
    MAX_CHANGES,
    MAX_REASON,
    MAX_ROLLBACK_PLAN,
    MAX_SUMMARY,
    ReleaseRef,
    check_risk,
    check_service,
    check_text,
    check_version,
    is_number,
    parse_ref,
)

_ENV = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
_USER = re.compile(r"^<@([UW][A-Z0-9]{2,20})(\|[^>]*)?>$")
MAX_PAGE_DIGITS = 9  # far past any trail's last page, and within what a database offset takes

Parser = Callable[[str], Command]


@dataclass(frozen=True)
class Verb:
    name: str
    usage: str  # shown after `/release `; `<…>` are placeholders, escaped when sent to Slack
    parse: Parser


VERBS: dict[str, Verb] = {}


def verb(name: str, usage: str) -> Callable[[Parser], Parser]:
    """Register `name` with its usage line and parser (help lists verbs in registration order)."""

    def register(parser: Parser) -> Parser:
        if name in VERBS:
            raise ValueError(f"/release {name} is registered twice")
        VERBS[name] = Verb(name, usage, parser)
        return parser

    return register


class Problem(Exception):
    """Inside a parser: the arguments have the wrong shape; `parse` turns it into a `UsageError`."""

    def __init__(self, template: str, /, **values: Value) -> None:
        super().__init__(template)
        self.text = Message(template, **values)


class UsageError(InvalidInput):
    """Wrong shape for a known subcommand; the message carries its usage line."""

    def __init__(self, verb: Verb, problem: Message) -> None:
        super().__init__("{problem}\nUsage: {usage}", problem=problem, usage=Code(f"/release {verb.usage}", 200))
        self.verb = verb.name


def parse(text: str) -> Command:
    """Parse the text after `/release`. Unknown subcommands and empty text become `Help`."""
    text = " ".join(text.replace("\u00a0", " ").split(" ")).strip()
    (name,), rest = _take(text, 1) if text else ([""], "")
    found = VERBS.get(name.lower() or "help")
    if found is None:
        return Help(None, unknown=name.lower())
    try:
        return found.parse(rest)
    except Problem as problem:
        raise UsageError(found, problem.text) from None


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


def _env(word: str) -> str:
    if not _ENV.match(word):
        raise Problem("{word} is not an environment name.", word=Code(word, 30))
    return word


def _id(word: str) -> int:
    if not is_number(word) or len(word) > 12:
        raise Problem("{word} is not an id; use the number shown in the list.", word=Code(word, 20))
    return int(word)


def _need(words: list[str], count: int, what: str) -> None:
    if len(words) < count:
        raise Problem("Missing {what}.", what=Message(what))


def _no_extra(rest: str) -> None:
    if rest:
        raise Problem("Unexpected {rest} at the end.", rest=Code(rest, 30))


def _ref_only(rest: str) -> ReleaseRef:
    words, extra = _take(rest, 1)
    _need(words, 1, "the release, as `service@version`")
    _no_extra(extra)
    return parse_ref(words[0])


def _optional_service(rest: str) -> str | None:
    words, extra = _take(rest, 1)
    _no_extra(extra)
    return check_service(words[0]) if words else None


def _ref_and_text(rest: str, *, required: str | None) -> tuple[ReleaseRef, str]:
    words, text = _take(rest, 1)
    _need(words, 1, "the release, as `service@version`")
    if required and not text:
        raise Problem("Missing {what}.", what=required)
    return parse_ref(words[0]), check_text(text, label="text", limit=MAX_REASON, required=False)


@verb("help", "help")
def _help(rest: str) -> Command:
    return Help(rest.strip().lower() or None)


PROPOSE_FLAGS = ("--commit", "--risk")


def _flags(rest: str, names: tuple[str, ...]) -> tuple[dict[str, str], str]:
    """Leading `--name value` pairs (each at most once), and the text after them."""
    found: dict[str, str] = {}
    while rest.startswith("--"):
        (flag, *value), tail = _take(rest, 2)
        if flag not in names:
            raise Problem("{flag} is not an option here; use {names}.", flag=Code(flag, 20), names=list(names))
        if not value or value[0].startswith("--"):
            raise Problem("{flag} needs a value.", flag=Code(flag, 20))
        if flag in found:
            raise Problem("{flag} is given twice.", flag=Code(flag, 20))
        found[flag], rest = value[0], tail
    return found, rest


@verb("propose", "propose [<service> <version> [--commit <sha>] [--risk low|medium|high] <summary…>]")
def _propose(rest: str) -> Command:
    if not rest:
        return Propose()
    words, rest = _take(rest, 2)
    _need(words, 2, "the version (and a summary)")
    service, version = check_service(words[0]), check_version(words[1])
    flags, summary = _flags(rest, PROPOSE_FLAGS)
    if not summary:
        raise Problem("Missing the summary: say in a few words what this release changes.")
    commit = check_commit(flags["--commit"]) if "--commit" in flags else None
    risk = check_risk(flags["--risk"]) if "--risk" in flags else None
    return Propose(service, version, check_text(summary, label="summary", limit=MAX_SUMMARY), commit, risk)


@verb("list", "list [service]")
def _list(rest: str) -> Command:
    return ListReleases(_optional_service(rest))


@verb("show", "show <service@version>")
def _show(rest: str) -> Command:
    return Show(_ref_only(rest))


@verb("history", "history <service@version> [page]")
def _history(rest: str) -> Command:
    words, extra = _take(rest, 2)
    _need(words, 1, "the release, as `service@version`")
    _no_extra(extra)
    page = words[1] if len(words) > 1 else "1"
    if not is_number(page) or len(page) > MAX_PAGE_DIGITS or int(page) < 1:
        raise Problem(
            "{page} is not a page number: page 1 is the newest events, 2 the ones before.", page=Code(page, 20)
        )
    return History(parse_ref(words[0]), int(page))


@verb("cancel", "cancel <service@version>")
def _cancel(rest: str) -> Command:
    return Cancel(_ref_only(rest))


_EDITABLE = {
    "summary": ("summary", MAX_SUMMARY),
    "changes": ("changes", MAX_CHANGES),
    "rollback": ("rollback_plan", MAX_ROLLBACK_PLAN),
    "risk": ("risk", len("medium")),
    "commit": ("commit_sha", 40),
}


@verb("edit", "edit <service@version> summary|changes|rollback|risk|commit <text…>")
def _edit(rest: str) -> Command:
    words, text = _take(rest, 2)
    _need(words, 2, "the release and what to change (`summary`, `changes`, `rollback`, `risk` or `commit`)")
    what = words[1].lower()
    if what not in _EDITABLE:
        raise Problem("{what}: say `summary`, `changes`, `rollback`, `risk` or `commit`.", what=Code(words[1], 20))
    field, limit = _EDITABLE[what]
    if not text:
        raise Problem("Missing the new {what}.", what=what)
    if field == "risk":
        new_text = check_risk(text)
    elif field == "commit_sha":
        new_text = check_commit(text)
    else:
        new_text = check_text(text, label=what, limit=limit)
    return Edit(parse_ref(words[0]), field, new_text)  # type: ignore[arg-type]


@verb("approve", "approve <service@version> [comment…]")
def _approve(rest: str) -> Command:
    ref, comment = _ref_and_text(rest, required=None)
    return Approve(ref, comment)


@verb("reject", "reject <service@version> <reason…>")
def _reject(rest: str) -> Command:
    ref, reason = _ref_and_text(rest, required="the reason: the proposer needs to know what to fix")
    return Reject(ref, reason)


@verb("withdraw", "withdraw <service@version>")
def _withdraw(rest: str) -> Command:
    return Withdraw(_ref_only(rest))


@verb("deploy", "deploy <service@version> <env> [--override <reason…>]")
def _deploy(rest: str) -> Command:
    words, tail = _take(rest, 2)
    _need(words, 2, "the release and the environment")
    override = None
    if tail:
        flag, _, reason = tail.partition(" ")
        if flag != "--override":
            raise Problem("Unexpected {tail}; only `--override <reason…>` may follow.", tail=Code(tail, 30))
        if not reason.strip():
            raise Problem("An override needs a reason, for the audit history.")
        override = check_text(reason, label="override reason", limit=MAX_REASON)
    return Deploy(parse_ref(words[0]), _env(words[1]), override)


@verb("verify", "verify <service@version> <env> passed|failed [note…]")
def _verify(rest: str) -> Command:
    words, note = _take(rest, 3)
    _need(words, 3, "the release, the environment and `passed` or `failed`")
    outcome = words[2].lower()
    if outcome not in ("passed", "failed"):
        raise Problem("{outcome} must be `passed` or `failed`.", outcome=Code(words[2], 20))
    note = check_text(note, label="note", limit=MAX_REASON, required=False)
    return Verify(parse_ref(words[0]), _env(words[1]), outcome == "passed", note)


@verb("rollback", "rollback <service> <env> <reason…>")
def _rollback(rest: str) -> Command:
    words, reason = _take(rest, 2)
    _need(words, 2, "the service and the environment")
    if not reason:
        raise Problem("Missing the reason: stakeholders are told why.")
    return Rollback(check_service(words[0]), _env(words[1]), check_text(reason, label="reason", limit=MAX_REASON))


@verb("status", "status [service]")
def _status(rest: str) -> Command:
    return StatusReport(_optional_service(rest))


@verb("freeze", "freeze <env> <from> <until> <reason…>")
def _freeze(rest: str) -> Command:
    words, reason = _take(rest, 3)
    _need(words, 3, "the environment, the start and the end")
    if not reason:
        raise Problem("Missing the reason, shown to everyone who is refused.")
    return Freeze(_env(words[0]), words[1], words[2], check_text(reason, label="reason", limit=MAX_REASON))


@verb("freezes", "freezes")
def _freezes(rest: str) -> Command:
    _no_extra(rest)
    return ListFreezes()


@verb("unfreeze", "unfreeze <id>")
def _unfreeze(rest: str) -> Command:
    words, extra = _take(rest, 1)
    _need(words, 1, "the id")
    _no_extra(extra)
    return Unfreeze(_id(words[0]))


@verb("calendar", "calendar [days] | calendar link")
def _calendar(rest: str) -> Command:
    words, extra = _take(rest, 1)
    _no_extra(extra)
    if not words:
        return Calendar()
    if words[0].lower() == "link":
        return CalendarLink()
    if not is_number(words[0]) or not 1 <= int(words[0]) <= 366:
        raise Problem("{days} is not a number of days between 1 and 366.", days=Code(words[0], 20))
    return Calendar(int(words[0]))


@verb("schedule", "schedule <service@version> <when> [duration]")
def _schedule(rest: str) -> Command:
    words, extra = _take(rest, 3)
    _need(words, 2, "the release and when (`now`, `+2h` or `2026-12-01T14:00`)")
    _no_extra(extra)
    return Schedule(parse_ref(words[0]), words[1], words[2] if len(words) > 2 else None)


def _service_only(rest: str) -> str:
    words, extra = _take(rest, 1)
    _need(words, 1, "the service")
    _no_extra(extra)
    return check_service(words[0])


@verb("subscribe", "subscribe <service>")
def _subscribe(rest: str) -> Command:
    return Subscribe(_service_only(rest), on=True)


@verb("unsubscribe", "unsubscribe <service>")
def _unsubscribe(rest: str) -> Command:
    return Subscribe(_service_only(rest), on=False)


@verb("metrics", "metrics [service] [days]")
def _metrics(rest: str) -> Command:
    words, extra = _take(rest, 2)
    _no_extra(extra)
    if words and is_number(words[-1]):
        days = int(words.pop())
        if not 1 <= days <= MAX_DAYS:
            raise Problem("{days} is not a number of days between 1 and {max}.", days=days, max=MAX_DAYS)
    else:
        days = DEFAULT_DAYS
    if len(words) > 1 or (words and is_number(words[0])):
        raise Problem("Say the service first, then the number of days, like `/release metrics payments 90`.")
    return MetricsReport(check_service(words[0]) if words else None, days)


@verb("review", "review start|close <service@version>")
def _review(rest: str) -> Command:
    words, extra = _take(rest, 2)
    if not words or words[0].lower() not in ("start", "close"):
        raise Problem("Say `start` or `close`.")
    _need(words, 2, "the release, as `service@version`")
    _no_extra(extra)
    return ReviewCommand(parse_ref(words[1]), "start" if words[0].lower() == "start" else "close")


@verb("action", "action add <service@version> <@owner> <due> <text…> | action done <id>")
def _action(rest: str) -> Command:
    words, tail = _take(rest, 1)
    sub = words[0].lower() if words else ""
    if sub == "done":
        ids, extra = _take(tail, 1)
        _need(ids, 1, "the action item id")
        _no_extra(extra)
        return ActionDone(_id(ids[0]))
    if sub != "add":
        raise Problem("Say `add` or `done`.")
    words, text = _take(tail, 3)
    _need(words, 3, "the release, the owner (`@someone`) and the due date")
    owner = _USER.match(words[1])
    if not owner:
        raise Problem("{word} is not a person; mention them, like `@alice`.", word=Code(words[1], 30))
    if not text:
        raise Problem("Missing the text of the action item.")
    return ActionAdd(parse_ref(words[0]), owner.group(1), words[2], check_text(text, label="text", limit=MAX_REASON))


@verb("actions", "actions [mine]")
def _actions(rest: str) -> Command:
    words, extra = _take(rest, 1)
    _no_extra(extra)
    if words and words[0].lower() != "mine":
        raise Problem("{word}: say `mine` or nothing.", word=Code(words[0], 20))
    return ListActions(mine=bool(words))
