"""Deploy lock commands: `lock`, `unlock`, `locks`."""

import re
from dataclasses import dataclass

from bot.domain.grammar.arguments import Problem, environment, need, no_extra, take
from bot.domain.grammar.registry import Command, verb
from bot.domain.locks import ALL_SERVICES
from bot.domain.validation import MAX_REASON, check_service, check_text

_FOR = re.compile(r"^(?P<reason>.*?)\s+for\s+(?P<duration>\d[0-9smhdw]*)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Lock(Command):
    service: str  # a service, or `*`
    environment: str
    reason: str
    duration: str | None = None  # `for 3h`; None: `[locks] default`


@dataclass(frozen=True)
class Unlock(Command):
    service: str
    environment: str


@dataclass(frozen=True)
class ListLocks(Command):
    pass


def _service(word: str) -> str:
    return word if word == ALL_SERVICES else check_service(word)


@verb(
    "lock",
    "lock <service|*> <env> <reason…> [for <duration>]",
    examples=("lock payments prod migrating the ledger for 3h", "lock * prod incident 42"),
)
def _lock(rest: str) -> Command:
    words, text = take(rest, 2)
    need(words, 2, "the service (or `*` for every service) and the environment")
    duration = None
    if (found := _FOR.match(text)) is not None:
        text, duration = found.group("reason"), found.group("duration")
    if not text.strip():
        raise Problem("Missing the reason, shown to everyone the lock refuses.")
    reason = check_text(text, label="reason", limit=MAX_REASON)
    return Lock(_service(words[0]), environment(words[1]), reason, duration)


@verb("unlock", "unlock <service|*> <env>", examples=("unlock payments prod",))
def _unlock(rest: str) -> Command:
    words, extra = take(rest, 2)
    need(words, 2, "the service (or `*`) and the environment")
    no_extra(extra)
    return Unlock(_service(words[0]), environment(words[1]))


@verb("locks", "locks", examples=("locks",))
def _locks(rest: str) -> Command:
    no_extra(rest)
    return ListLocks()
