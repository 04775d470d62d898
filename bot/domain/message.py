"""Words for a person, with the values they name kept apart from the sentence, so that each edge renders them
its own way: Slack gets mrkdwn with every value and the sentence escaped once; JSON answers and modal errors get
plain text. Write the sentence as a `str.format` template and pass the values by name:

    Message("{ref} is live in {env}; next: `/release verify {ref} {env} passed`.", ref=ref, env="qa")

A value is plain text (escaped for Slack), a `Code` span, a `Mention`, a `SlackDate`, another `Message`, or a
list of those (joined with ", ").
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from string import Formatter
from typing import Union

from bot.domain.mrkdwn import escape, mention


@dataclass(frozen=True)
class Code:
    """Inline code: what to type, or a person's own input echoed back (shortened, so an error never echoes a novel)."""

    text: str
    limit: int = 60

    def shown(self) -> str:
        text = self.text.replace("`", "'")
        return text if len(text) <= self.limit else text[: self.limit] + "…"


@dataclass(frozen=True)
class Mention:
    """A person (U…/W…), a user group (S…) or a channel (C…/G…), by id."""

    entity_id: str


@dataclass(frozen=True)
class SlackDate:
    """A moment, shown to each Slack reader in their own time zone (UTC in plain text)."""

    at: datetime
    style: str = "{date_short_pretty} {time}"

    def fallback(self) -> str:
        return self.at.strftime("%Y-%m-%d %H:%M UTC")


Value = Union[str, int, float, Code, Mention, SlackDate, "Message", Sequence["Value"]]

_FORMATTER = Formatter()


class Message:
    __slots__ = ("template", "values")

    def __init__(self, template: str, /, **values: Value) -> None:
        self.template = template
        self.values = values

    @classmethod
    def lines(cls, items: Iterable["Message | str"], *, bullet: str = "") -> "Message":
        """Several messages, one per line (each prefixed with `bullet`)."""
        parts = {f"line{index}": item for index, item in enumerate(items)}
        return cls("\n".join(f"{bullet}{{{name}}}" for name in parts), **parts)

    def mrkdwn(self) -> str:
        return self._render(slack=True)

    def plain(self) -> str:
        return self._render(slack=False)

    def __str__(self) -> str:
        return self.plain()

    def __repr__(self) -> str:
        return f"Message({self.plain()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.template, self.values) == (other.template, other.values)

    def __hash__(self) -> int:
        return hash(self.template)

    def _render(self, *, slack: bool) -> str:
        out: list[str] = []
        for literal, name, _spec, _conversion in _FORMATTER.parse(self.template):
            out.append(escape(literal) if slack else literal)
            if name is not None:
                out.append(_value(self.values[name], slack=slack))
        return "".join(out)


def _value(value: Value, *, slack: bool) -> str:
    if isinstance(value, Message):
        return value.mrkdwn() if slack else value.plain()
    if isinstance(value, Code):
        return "`" + (escape(value.shown()) if slack else value.shown()) + "`"
    if isinstance(value, Mention):
        return mention(value.entity_id) if slack else "@" + value.entity_id
    if isinstance(value, SlackDate):
        if not slack:
            return value.fallback()
        return f"<!date^{int(value.at.timestamp())}^{value.style}|{value.fallback()}>"
    if isinstance(value, str | int | float):
        return escape(str(value)) if slack else str(value)
    return ", ".join(_value(item, slack=slack) for item in value)


def mentions(entity_ids: Iterable[str]) -> list[Value]:
    return [Mention(entity_id) for entity_id in entity_ids]
