"""The `/release` registry: a subcommand is one datum, `Verb` (name, usage line, parser, examples), registered with
`@verb` beside its command in its feature's module. `parse`, help and the tests all read `VERBS`."""

from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.errors import InvalidInput
from bot.domain.grammar.arguments import Problem, take
from bot.domain.message import Code, Message


class Command:
    """Base of every parsed `/release` command."""


Parser = Callable[[str], Command]


@dataclass(frozen=True)
class Verb:
    name: str
    usage: str  # shown after `/release `; `<…>` are placeholders, escaped when sent to Slack
    parse: Parser
    examples: tuple[str, ...]  # texts after `/release` that this verb parses; the tests run every one


VERBS: dict[str, Verb] = {}


def verb(name: str, usage: str, *, examples: tuple[str, ...]) -> Callable[[Parser], Parser]:
    """Register `name` with its usage line, parser and examples (help lists verbs in registration order)."""

    def register(parser: Parser) -> Parser:
        if name in VERBS:
            raise ValueError(f"/release {name} is registered twice")
        VERBS[name] = Verb(name, usage, parser, examples)
        return parser

    return register


class UsageError(InvalidInput):
    """Wrong shape for a known subcommand; the message carries its usage line."""

    def __init__(self, verb: Verb, problem: Message) -> None:
        super().__init__("{problem}\nUsage: {usage}", problem=problem, usage=Code(f"/release {verb.usage}", 200))
        self.verb = verb.name


def parse(text: str) -> Command:
    """Parse the text after `/release`. Unknown subcommands and empty text become `Help`."""
    text = " ".join(text.replace("\u00a0", " ").split(" ")).strip()
    (name,), rest = take(text, 1) if text else ([""], "")
    found = VERBS.get(name.lower() or "help")
    if found is None:
        return Help(None, unknown=name.lower())
    try:
        return found.parse(rest)
    except Problem as problem:
        raise UsageError(found, problem.text) from None


# Help lives with the registry: `parse` answers an unknown subcommand with it.
@dataclass(frozen=True)
class Help(Command):
    topic: str | None = None
    unknown: str | None = None  # the subcommand that was not understood


@verb("help", "help", examples=("help",))
def _help(rest: str) -> Command:
    return Help(rest.strip().lower() or None)
