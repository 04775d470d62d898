"""Every `/release` command is registered once, completely: it parses from its verb, has a usage line that help
shows and README documents, and a route that answers it. Removing any of these fails here, not in production."""

import re
from pathlib import Path

import pytest

from bot.domain import grammar
from bot.domain.grammar.registry import Help
from bot.services.kernel.context import Actor
from handlers import commands as command_handlers  # loads every route module
from handlers.routes import ROUTES
from tests.domain.test_grammar import command_types

README = Path(__file__).resolve().parents[2] / "README.md"

# Every verb's examples, as registered beside it (`@verb(..., examples=(...))`).
EXAMPLES = [(verb, text) for verb in grammar.VERBS.values() for text in verb.examples]


def test_every_command_type_is_produced_by_a_verb() -> None:
    produced = {type(grammar.parse(text)) for _, text in EXAMPLES}
    assert produced == command_types(), "give the new command's @verb an example that parses into it"


def test_every_verb_is_exercised_by_an_example() -> None:
    assert {verb.name for verb, _ in EXAMPLES} == set(grammar.VERBS), "every @verb lists examples"
    for verb, text in EXAMPLES:
        assert text.split()[0] == verb.name, f"{text!r}: an example of `{verb.name}` starts with it"


def test_every_command_type_has_a_route() -> None:
    assert command_handlers.ROUTE_MODULES, "the route modules are loaded by handlers.commands"
    missing = sorted(kind.__name__ for kind in command_types() - set(ROUTES))
    assert not missing, f"no @answers route for {missing}"


@pytest.mark.parametrize("name", sorted(grammar.VERBS))
def test_every_verb_has_a_usage_line_that_readme_documents(name: str) -> None:
    verb = grammar.VERBS[name]
    assert verb.usage.split()[0] == name, "a usage line starts with its verb"
    readme = README.read_text(encoding="utf-8")
    assert re.search(rf"`/release {re.escape(name)}\b", readme), f"README documents `/release {name}`"


async def test_the_help_route_lists_every_usage_line() -> None:
    answer = await ROUTES[Help](None, Actor("T0TEAM", "U0ALICE"), Help())  # type: ignore[arg-type]
    text = str(answer["blocks"])
    for verb in grammar.VERBS.values():
        assert verb.usage.replace("<", "&lt;").replace(">", "&gt;") in text, verb.name
