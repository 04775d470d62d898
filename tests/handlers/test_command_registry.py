"""Every `/release` command is registered once, completely: it parses from its verb, has a usage line that help
shows and README documents, and a route that answers it. Removing any of these fails here, not in production."""

import re
from pathlib import Path

import pytest

from bot.domain import commands as cmd
from bot.domain import grammar
from bot.services.kernel.context import Actor
from handlers import commands as command_handlers  # loads every route module
from handlers.routes import ROUTES

README = Path(__file__).resolve().parents[2] / "README.md"

# One example per command type (several verbs may share one, one verb may give several).
EXAMPLES = {
    "help": cmd.Help,
    "propose": cmd.Propose,
    "propose payments 2.4.0 Faster checkout": cmd.Propose,
    "list": cmd.ListReleases,
    "show payments@2.4.0": cmd.Show,
    "history payments@2.4.0": cmd.History,
    "history payments@2.4.0 3": cmd.History,
    "cancel payments@2.4.0": cmd.Cancel,
    "edit payments@2.4.0 summary New words": cmd.Edit,
    "approve payments@2.4.0": cmd.Approve,
    "reject payments@2.4.0 no tests": cmd.Reject,
    "withdraw payments@2.4.0": cmd.Withdraw,
    "deploy payments@2.4.0 qa": cmd.Deploy,
    "verify payments@2.4.0 qa passed": cmd.Verify,
    "rollback payments prod errors up": cmd.Rollback,
    "status": cmd.StatusReport,
    "freeze prod now +2h release train": cmd.Freeze,
    "freezes": cmd.ListFreezes,
    "unfreeze 3": cmd.Unfreeze,
    "calendar": cmd.Calendar,
    "calendar link": cmd.CalendarLink,
    "schedule payments@2.4.0 +2h": cmd.Schedule,
    "subscribe payments": cmd.Subscribe,
    "unsubscribe payments": cmd.Subscribe,
    "review start payments@2.4.0": cmd.ReviewCommand,
    "action add payments@2.4.0 <@U0BOB> +3d add alerts": cmd.ActionAdd,
    "action done 7": cmd.ActionDone,
    "actions": cmd.ListActions,
    "metrics payments 30": cmd.MetricsReport,
}


def _all_commands() -> set[type[cmd.Command]]:
    found: set[type[cmd.Command]] = set()
    pending = list(cmd.Command.__subclasses__())
    while pending:
        kind = pending.pop()
        found.add(kind)
        pending.extend(kind.__subclasses__())
    return found


def test_every_command_type_is_produced_by_a_verb() -> None:
    produced = {type(grammar.parse(text)) for text in EXAMPLES}
    assert produced == _all_commands(), "add an example above for a new command, and a @verb that parses it"
    for text, kind in EXAMPLES.items():
        assert isinstance(grammar.parse(text), kind), text


def test_every_verb_is_exercised_by_an_example() -> None:
    assert {text.split()[0] for text in EXAMPLES} == set(grammar.VERBS)


def test_every_command_type_has_a_route() -> None:
    assert command_handlers.ROUTE_MODULES, "the route modules are loaded by handlers.commands"
    missing = sorted(kind.__name__ for kind in _all_commands() - set(ROUTES))
    assert not missing, f"no @answers route for {missing}"


@pytest.mark.parametrize("name", sorted(grammar.VERBS))
def test_every_verb_has_a_usage_line_that_readme_documents(name: str) -> None:
    verb = grammar.VERBS[name]
    assert verb.usage.split()[0] == name, "a usage line starts with its verb"
    readme = README.read_text(encoding="utf-8")
    assert re.search(rf"`/release {re.escape(name)}\b", readme), f"README documents `/release {name}`"


async def test_the_help_route_lists_every_usage_line() -> None:
    answer = await ROUTES[cmd.Help](None, Actor("T0TEAM", "U0ALICE"), cmd.Help())  # type: ignore[arg-type]
    text = str(answer["blocks"])
    for verb in grammar.VERBS.values():
        assert verb.usage.replace("<", "&lt;").replace(">", "&gt;") in text, verb.name
