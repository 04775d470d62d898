"""Words for a person, with the values they name kept apart from the sentence. Nothing here knows Slack: each edge
renders a message its own way, Slack as mrkdwn with every value and the sentence escaped once (`bot/slack_text.py`),
JSON answers, modal errors and logs as plain text (`plain`). Write the sentence as a `str.format` template and pass
the values by name:

    Message("{ref} is live in {env}; next: `/release verify {ref} {env} passed`.", ref=Strong(ref), env="qa")

A value is text, a number, a `Code` span, a `Mention`, a `When`, a `Strong` text, a `Link`, another `Message`, or a
list of those (joined with ", ").
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from string import Formatter
from typing import Union


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
class When:
    """A moment, shown to each reader in their own time zone where the surface can (UTC otherwise); `time_only`
    when the day goes without saying (the end of a window, a deadline today)."""

    at: datetime
    time_only: bool = False

    def utc(self) -> str:
        return self.at.strftime("%H:%M UTC" if self.time_only else "%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Strong:
    """What the reader's eye should land on: a release, an environment, an outcome."""

    text: str


@dataclass(frozen=True)
class Link:
    """Text that leads somewhere (a pull request, a comparison on GitHub); `url` is http(s) or it is not a link."""

    url: str
    text: str

    def safe_url(self) -> str | None:
        """The address when it can be a link (http(s), no spaces or Slack control characters), else None."""
        ok = self.url.startswith(("https://", "http://")) and not any(c in self.url for c in " <>|\n")
        return self.url if ok else None


Value = Union[str, int, float, Code, Mention, When, Strong, Link, "Message", Sequence["Value"]]

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

    def parts(self) -> Iterator[tuple[str, Value | None]]:
        """What renderers walk: the sentence's own words, each followed by the value it names (None at the end)."""
        for literal, name, _spec, _conversion in _FORMATTER.parse(self.template):
            yield literal, (None if name is None else self.values[name])

    def plain(self) -> str:
        return plain(self)

    def __str__(self) -> str:
        return plain(self)

    def __repr__(self) -> str:
        return f"Message({plain(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.template, self.values) == (other.template, other.values)

    def __hash__(self) -> int:
        return hash(self.template)


def plain(value: Value) -> str:
    """Any value as plain text: what JSON answers, modal errors and logs carry (they need no markup)."""
    if isinstance(value, Message):
        return "".join(literal + ("" if inner is None else plain(inner)) for literal, inner in value.parts())
    if isinstance(value, Code):
        return "`" + value.shown() + "`"
    if isinstance(value, Mention):
        return "@" + value.entity_id
    if isinstance(value, When):
        return value.utc()
    if isinstance(value, Strong):
        return value.text
    if isinstance(value, Link):
        url = value.safe_url()
        return f"{value.text} ({url})" if url else value.text
    if isinstance(value, str | int | float):
        return str(value)
    return ", ".join(plain(item) for item in value)


def mentions(entity_ids: Iterable[str]) -> list[Value]:
    return [Mention(entity_id) for entity_id in entity_ids]
