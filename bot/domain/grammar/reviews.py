"""Post-release review commands: review start|close, action items and their list."""

import re
from dataclasses import dataclass
from typing import Literal

from bot.domain.grammar.arguments import Problem, item_id, need, no_extra, take
from bot.domain.grammar.registry import Command, verb
from bot.domain.message import Code
from bot.domain.validation import MAX_REASON, ReleaseRef, check_text, parse_ref

_USER = re.compile(r"^<@([UW][A-Z0-9]{2,20})(\|[^>]*)?>$")


@dataclass(frozen=True)
class ReviewCommand(Command):
    ref: ReleaseRef
    verb: Literal["start", "close"]


@dataclass(frozen=True)
class ActionAdd(Command):
    ref: ReleaseRef
    owner_id: str
    due: str
    text: str


@dataclass(frozen=True)
class ActionDone(Command):
    action_id: int


@dataclass(frozen=True)
class ListActions(Command):
    mine: bool = False


@verb("review", "review start|close <service@version>", examples=("review start payments@2.4.0",))
def _review(rest: str) -> Command:
    words, extra = take(rest, 2)
    if not words or words[0].lower() not in ("start", "close"):
        raise Problem("Say `start` or `close`.")
    need(words, 2, "the release, as `service@version`")
    no_extra(extra)
    return ReviewCommand(parse_ref(words[1]), "start" if words[0].lower() == "start" else "close")


@verb(
    "action",
    "action add <service@version> <@owner> <due> <text…> | action done <id>",
    examples=("action add payments@2.4.0 <@U0BOB> +3d add alerts", "action done 7"),
)
def _action(rest: str) -> Command:
    words, tail = take(rest, 1)
    sub = words[0].lower() if words else ""
    if sub == "done":
        ids, extra = take(tail, 1)
        need(ids, 1, "the action item id")
        no_extra(extra)
        return ActionDone(item_id(ids[0]))
    if sub != "add":
        raise Problem("Say `add` or `done`.")
    words, text = take(tail, 3)
    need(words, 3, "the release, the owner (`@someone`) and the due date")
    owner = _USER.match(words[1])
    if not owner:
        raise Problem("{word} is not a person; mention them, like `@alice`.", word=Code(words[1], 30))
    if not text:
        raise Problem("Missing the text of the action item.")
    return ActionAdd(parse_ref(words[0]), owner.group(1), words[2], check_text(text, label="text", limit=MAX_REASON))


@verb("actions", "actions [mine]", examples=("actions",))
def _actions(rest: str) -> Command:
    words, extra = take(rest, 1)
    no_extra(extra)
    if words and words[0].lower() != "mine":
        raise Problem("{word}: say `mine` or nothing.", word=Code(words[0], 20))
    return ListActions(mine=bool(words))
