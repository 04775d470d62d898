"""Which answer each `/release` command gets: `@answers(SomeCommand)` on a function that calls one service and
renders the reply. `handlers/commands.py` loads the modules that hold them; a test checks every `Command` has one."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot.domain.grammar import Command
from bot.domain.message import Message
from bot.render import render
from bot.services.kernel.context import Actor, ServiceContext
from bot.slack_text import mrkdwn

Answer = dict[str, Any]  # a message body (`text` and `blocks`) shown only to the person who asked
Route = Callable[[ServiceContext, Actor, Any], Awaitable[Answer]]
C = TypeVar("C", bound=Command)

ROUTES: dict[type[Command], Route] = {}


def answers(kind: type[C]) -> Callable[[Callable[[ServiceContext, Actor, C], Awaitable[Answer]]], Route]:
    def register(route: Callable[[ServiceContext, Actor, C], Awaitable[Answer]]) -> Route:
        if kind in ROUTES:
            raise ValueError(f"{kind.__name__} has two routes")
        ROUTES[kind] = route
        return route

    return register


def say(message: Message) -> Answer:
    """A one-paragraph answer (what a use case's outcome says)."""
    return render("message", text=mrkdwn(message), context=None)
