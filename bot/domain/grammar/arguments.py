"""The words after a verb: taking them apart, and the shapes several verbs share (a release, an environment, an id,
leading `--flags`). A wrong shape raises `Problem`, which `parse` turns into an error that shows the usage."""

import re

from bot.domain.message import Code, Message, Value
from bot.domain.validation import MAX_REASON, ReleaseRef, check_service, check_text, is_number, parse_ref

_ENV = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")


class Problem(Exception):
    """Inside a parser: the arguments have the wrong shape; `parse` turns it into a `UsageError`."""

    def __init__(self, template: str, /, **values: Value) -> None:
        super().__init__(template)
        self.text = Message(template, **values)


def take(text: str, count: int) -> tuple[list[str], str]:
    """The first `count` whitespace-separated words and the untouched rest (free text keeps its spacing)."""
    words: list[str] = []
    rest = text.strip()
    for _ in range(count):
        if not rest:
            break
        head, _, rest = rest.partition(" ")
        words.append(head)
        rest = rest.strip()
    return words, rest


def environment(word: str) -> str:
    if not _ENV.match(word):
        raise Problem("{word} is not an environment name.", word=Code(word, 30))
    return word


def item_id(word: str) -> int:
    if not is_number(word) or len(word) > 12:
        raise Problem("{word} is not an id; use the number shown in the list.", word=Code(word, 20))
    return int(word)


def need(words: list[str], count: int, what: str) -> None:
    if len(words) < count:
        raise Problem("Missing {what}.", what=Message(what))


def no_extra(rest: str) -> None:
    if rest:
        raise Problem("Unexpected {rest} at the end.", rest=Code(rest, 30))


def ref_only(rest: str) -> ReleaseRef:
    words, extra = take(rest, 1)
    need(words, 1, "the release, as `service@version`")
    no_extra(extra)
    return parse_ref(words[0])


def optional_service(rest: str) -> str | None:
    words, extra = take(rest, 1)
    no_extra(extra)
    return check_service(words[0]) if words else None


def service_only(rest: str) -> str:
    words, extra = take(rest, 1)
    need(words, 1, "the service")
    no_extra(extra)
    return check_service(words[0])


def ref_and_text(rest: str, *, required: str | None) -> tuple[ReleaseRef, str]:
    words, text = take(rest, 1)
    need(words, 1, "the release, as `service@version`")
    if required and not text:
        raise Problem("Missing {what}.", what=required)
    return parse_ref(words[0]), check_text(text, label="text", limit=MAX_REASON, required=False)


_QUOTES = {'"': '"', "“": "”", "'": "'"}


def _quoted(flag: str, rest: str) -> tuple[str, str]:
    """A `"quoted value"` (straight or Slack's curly quotes) at the start of `rest`, and what follows it."""
    close = _QUOTES[rest[0]]
    end = rest.find(close, 1)
    if end < 0:
        raise Problem("{flag} has an opening quote but no closing one.", flag=Code(flag, 20))
    return rest[1:end].strip(), rest[end + 1 :].strip()


def leading_flags(rest: str, names: tuple[str, ...], switches: tuple[str, ...] = ()) -> tuple[dict[str, str], str]:
    """Leading `--name value` pairs and `--switch`es (each at most once; a value may be `"quoted words"`), and the
    text after them. A switch given maps to ""."""
    found: dict[str, str] = {}
    while rest.startswith("--"):
        (flag, *value), tail = take(rest, 2)
        if flag not in names and flag not in switches:
            raise Problem("{flag} is not an option here; use {names}.", flag=Code(flag, 20), names=[*names, *switches])
        if flag in found:
            raise Problem("{flag} is given twice.", flag=Code(flag, 20))
        if flag in switches:
            found[flag], rest = "", rest[len(flag) :].strip()
            continue
        after = rest[len(flag) :].strip()
        if after[:1] in _QUOTES:
            found[flag], rest = _quoted(flag, after)
            if not found[flag]:
                raise Problem("{flag} needs a value.", flag=Code(flag, 20))
            continue
        if not value or value[0].startswith("--"):
            raise Problem("{flag} needs a value.", flag=Code(flag, 20))
        found[flag], rest = value[0], tail
    return found, rest
