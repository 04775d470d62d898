"""Deployment commands: deploy, verify (regression sign-off), rollback and status."""

from dataclasses import dataclass

from bot.domain.grammar.arguments import Problem, environment, need, optional_service, take
from bot.domain.grammar.registry import Command, verb
from bot.domain.message import Code
from bot.domain.validation import MAX_REASON, ReleaseRef, check_service, check_text, parse_ref


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


@verb("deploy", "deploy <service@version> <env> [--override <reason…>]", examples=("deploy payments@2.4.0 qa",))
def _deploy(rest: str) -> Command:
    words, tail = take(rest, 2)
    need(words, 2, "the release and the environment")
    override = None
    if tail:
        flag, _, reason = tail.partition(" ")
        if flag != "--override":
            raise Problem("Unexpected {tail}; only `--override <reason…>` may follow.", tail=Code(tail, 30))
        if not reason.strip():
            raise Problem("An override needs a reason, for the audit history.")
        override = check_text(reason, label="override reason", limit=MAX_REASON)
    return Deploy(parse_ref(words[0]), environment(words[1]), override)


@verb(
    "verify",
    "verify <service@version> <env> passed|failed [note…]",
    examples=("verify payments@2.4.0 qa passed",),
)
def _verify(rest: str) -> Command:
    words, note = take(rest, 3)
    need(words, 3, "the release, the environment and `passed` or `failed`")
    outcome = words[2].lower()
    if outcome not in ("passed", "failed"):
        raise Problem("{outcome} must be `passed` or `failed`.", outcome=Code(words[2], 20))
    note = check_text(note, label="note", limit=MAX_REASON, required=False)
    return Verify(parse_ref(words[0]), environment(words[1]), outcome == "passed", note)


@verb("rollback", "rollback <service> <env> <reason…>", examples=("rollback payments prod errors up",))
def _rollback(rest: str) -> Command:
    words, reason = take(rest, 2)
    need(words, 2, "the service and the environment")
    if not reason:
        raise Problem("Missing the reason: stakeholders are told why.")
    return Rollback(
        check_service(words[0]), environment(words[1]), check_text(reason, label="reason", limit=MAX_REASON)
    )


@verb("status", "status [service]", examples=("status",))
def _status(rest: str) -> Command:
    return StatusReport(optional_service(rest))
