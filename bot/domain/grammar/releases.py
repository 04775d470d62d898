"""Release commands: propose, list, show, history, notes, cancel and edit."""

from dataclasses import dataclass
from typing import Literal

from bot.domain.commits import check_commit
from bot.domain.grammar.arguments import Problem, leading_flags, need, no_extra, optional_service, ref_only, take
from bot.domain.grammar.registry import Command, verb
from bot.domain.message import Code
from bot.domain.validation import (
    MAX_CHANGES,
    MAX_ROLLBACK_PLAN,
    MAX_SUMMARY,
    ReleaseRef,
    check_incident,
    check_risk,
    check_service,
    check_text,
    check_version,
    is_number,
    parse_ref,
)

MAX_PAGE_DIGITS = 9  # far past any trail's last page, and within what a database offset takes
PROPOSE_FLAGS = ("--commit", "--risk", "--standard", "--incident")
PROPOSE_SWITCHES = ("--emergency",)


@dataclass(frozen=True)
class Propose(Command):
    service: str | None = None  # None: open the modal
    version: str | None = None
    summary: str | None = None
    commit: str | None = None  # `--commit <sha>`
    risk: str | None = None  # `--risk low|medium|high`
    standard: str | None = None  # `--standard "<name>"`: a pre-authorised standard change
    emergency: bool = False  # `--emergency`
    incident: str | None = None  # `--incident <url>`, with `--emergency`


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
class Notes(Command):
    ref: ReleaseRef


@dataclass(frozen=True)
class Cancel(Command):
    ref: ReleaseRef


@dataclass(frozen=True)
class Edit(Command):
    ref: ReleaseRef
    field: Literal["summary", "changes", "rollback_plan", "risk", "commit_sha"]
    text: str


@verb(
    "propose",
    'propose [<service> <version> [--commit <sha>] [--risk low|medium|high] [--standard "<name>"] '
    "[--emergency [--incident <url>]] <summary…>]",
    examples=(
        "propose",
        "propose payments 2.4.0 Faster checkout",
        'propose payments 2.4.1 --standard "feature flag flip" Turn on new checkout',
        "propose payments 2.4.2 --emergency --incident https://status.example.com/i/42 Card payments fail",
    ),
)
def _propose(rest: str) -> Command:
    if not rest:
        return Propose()
    words, rest = take(rest, 2)
    need(words, 2, "the version (and a summary)")
    service, version = check_service(words[0]), check_version(words[1])
    flags, summary = leading_flags(rest, PROPOSE_FLAGS, PROPOSE_SWITCHES)
    emergency = "--emergency" in flags
    if not summary:
        what = (
            "the reason for the emergency" if emergency else "the summary: say in a few words what this release changes"
        )
        raise Problem("Missing {what}.", what=what)
    commit = check_commit(flags["--commit"]) if "--commit" in flags else None
    risk = check_risk(flags["--risk"]) if "--risk" in flags else None
    standard = check_text(flags["--standard"], label="standard change", limit=60) if "--standard" in flags else None
    if standard and emergency:
        raise Problem("A change is either standard or emergency: drop `--standard` or `--emergency`.")
    if "--incident" in flags and not emergency:
        raise Problem("`--incident` goes with `--emergency`: say `--emergency --incident <url>`.")
    incident = check_incident(flags["--incident"]) if "--incident" in flags else None
    text = check_text(summary, label="summary", limit=MAX_SUMMARY)
    return Propose(service, version, text, commit, risk, standard, emergency, incident)


@verb("list", "list [service]", examples=("list",))
def _list(rest: str) -> Command:
    return ListReleases(optional_service(rest))


@verb("show", "show <service@version>", examples=("show payments@2.4.0",))
def _show(rest: str) -> Command:
    return Show(ref_only(rest))


@verb(
    "history",
    "history <service@version> [page]",
    examples=("history payments@2.4.0", "history payments@2.4.0 3"),
)
def _history(rest: str) -> Command:
    words, extra = take(rest, 2)
    need(words, 1, "the release, as `service@version`")
    no_extra(extra)
    page = words[1] if len(words) > 1 else "1"
    if not is_number(page) or len(page) > MAX_PAGE_DIGITS or int(page) < 1:
        raise Problem(
            "{page} is not a page number: page 1 is the newest events, 2 the ones before.", page=Code(page, 20)
        )
    return History(parse_ref(words[0]), int(page))


@verb("notes", "notes <service@version>", examples=("notes payments@2.4.0",))
def _notes(rest: str) -> Command:
    return Notes(ref_only(rest))


@verb("cancel", "cancel <service@version>", examples=("cancel payments@2.4.0",))
def _cancel(rest: str) -> Command:
    return Cancel(ref_only(rest))


_EDITABLE = {
    "summary": ("summary", MAX_SUMMARY),
    "changes": ("changes", MAX_CHANGES),
    "rollback": ("rollback_plan", MAX_ROLLBACK_PLAN),
    "risk": ("risk", len("medium")),
    "commit": ("commit_sha", 40),
}


@verb(
    "edit",
    "edit <service@version> summary|changes|rollback|risk|commit <text…>",
    examples=("edit payments@2.4.0 summary New words",),
)
def _edit(rest: str) -> Command:
    words, text = take(rest, 2)
    need(words, 2, "the release and what to change (`summary`, `changes`, `rollback`, `risk` or `commit`)")
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
