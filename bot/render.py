"""Jinja2 → Block Kit. User text and messages go through `mrkdwn` (`bot/slack_text.py`) and `|tojson`; templates fail
on missing names."""

import datetime as dt
import json
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import fields
from datetime import datetime, timedelta
from enum import Enum
from functools import cache
from json.encoder import encode_basestring
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.domain.message import Message
from bot.ids import INPUT, ActionId, BlockId, CallbackId
from bot.slack_text import DATE_TIME, date, mention, mrkdwn

# A message body may carry, under this key, the body to send instead when Slack refuses its blocks (an image
# whose file Slack cannot show yet): the words still arrive. Senders pop it before calling Slack.
FALLBACK = "fallback"
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_MODAL_BLOCKS = 100


def _slack_date(value: datetime | None, tokens: str = DATE_TIME) -> str:
    return "not set" if value is None else date(value, tokens)


# One encoder for every render: `json.dumps` with an argument of its own builds a new one per call.
_dumps = json.JSONEncoder(ensure_ascii=False).encode


def _tojson(value: Any) -> str:
    return encode_basestring(value) if type(value) is str else _dumps(value)  # a card has twenty strings


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("templates", ""),
        undefined=StrictUndefined,
        autoescape=False,  # Slack is not HTML: escaping is the `mrkdwn` filter's job
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # compiled once per process: no file check on every render
    )
    env.filters["mrkdwn"] = mrkdwn  # text escaped, a `Message` rendered: the same code as every other answer
    env.filters["mention"] = mention
    env.filters["slack_date"] = _slack_date
    env.filters["truncate_to"] = _truncate
    # JSON for Slack, not for a web page: Jinja's own `tojson` also writes <, >, & and ' as \u003c… (for HTML),
    # which costs a pass over every value and which Slack decodes back. User text is escaped by `mrkdwn` already.
    env.filters["tojson"] = _tojson
    env.globals.update(ActionId=ActionId, BlockId=BlockId, CallbackId=CallbackId, INPUT=INPUT)
    return env


def render(name: str, **context: Any) -> dict[str, Any]:
    """Render `templates/<name>.json.j2` into a dict (`text` + `blocks`, or a view). A context made only of values
    (see `_frozen`) renders once: the same inputs again are parsed from the JSON kept the first time."""
    key = _key(f"{name}.json.j2", context)
    kept = _kept(key)
    if kept is not None:
        loaded: dict[str, Any] = json.loads(kept)  # a new dict each time: callers may change theirs
        return loaded
    rendered = _rendered(name, context)
    _keep(key, lambda: _dumps(rendered))
    return rendered


def render_fresh(name: str, **context: Any) -> dict[str, Any]:
    """`render`, for an output that does not come again: a release's card as a change leaves it (its version is
    new each time). Keying it (a walk of the whole context) and keeping it (its JSON text) would cost more than
    rendering it, for nothing."""
    return _rendered(name, context)


def render_json(name: str, **context: Any) -> str:
    """`render`, as JSON text (what Slack takes for a view: a JSON-encoded string). Rendered once per inputs like
    `render`, and then neither parsed nor dumped again."""
    key = _key(f"{name}.json.j2", context)
    kept = _kept(key)
    if kept is not None:
        return kept
    text = _dumps(_rendered(name, context))
    _keep(key, lambda: text)
    return text


def _rendered(name: str, context: dict[str, Any]) -> dict[str, Any]:
    raw = environment().get_template(f"{name}.json.j2").render(**context)
    try:
        rendered: dict[str, Any] = json.loads(raw)
    except json.JSONDecodeError as exc:  # a template bug, not user input: fail loudly in tests
        raise ValueError(f"template {name} produced invalid JSON: {exc}\n{raw[:2000]}") from exc
    _enforce_limits(name, rendered)
    return rendered


def render_text(name: str, **context: Any) -> str:
    key = _key(f"{name}.txt.j2", context)
    kept = _kept(key)
    if kept is not None:
        return kept
    text = environment().get_template(f"{name}.txt.j2").render(**context).strip()
    _keep(key, lambda: text)
    return text


# -- rendered once per inputs --------------------------------------------------------------------------------
# Templates are pure functions of their context, so a context of plain values (text, numbers, enums, dates; tuples,
# lists, sets and dicts of them; frozen dataclasses and messages of them: a list's lines, the help text, an App Home
# view, a release's card) can
# key its output. Anything else (ORM rows, mutable objects) may change without changing its hash, so it renders
# every time.
KEPT_CHARS = 4_000_000  # the outputs kept, in all (a few MB); the least recently used go first
_outputs: OrderedDict[Hashable, str] = OrderedDict()
_kept_chars = 0
_RAW = frozenset({str, int, type(None)})  # their own key: nothing else equal to one renders differently
_TYPED = (
    float,
    bool,
    Enum,
    dt.date,
    timedelta,
)  # typed: True == 1 and a str enum equals its value, yet they render apart
_FIELDS: dict[type, tuple[str, ...]] = {}  # a frozen dataclass's field names, by class


# A frozen dataclass that says it is shared and never changed once built (`shared_unchanged = True`: the
# workspace's agenda and its open releases in App Home, kept for a few seconds and shown to everyone) is walked
# once: its key is kept by identity, with the object itself so that its id cannot be another object's meanwhile.
_SHARED: dict[int, tuple[object, Hashable]] = {}
SHARED_KEPT = 2048


class _NotAValue(Exception):
    pass


def _frozen(value: Any) -> Hashable:
    kind = type(value)
    if kind in _RAW:
        raw: Hashable = value
        return raw
    if kind is tuple or kind is list or isinstance(value, tuple):  # NamedTuple rows are tuples
        return (kind, *[item if type(item) in _RAW else _frozen(item) for item in value])
    if isinstance(value, datetime):  # equal instants in other time zones render differently
        return (datetime, value, value.tzinfo)
    if isinstance(value, _TYPED):
        return (kind, value)
    if isinstance(value, dict):
        return (dict, *[(key, item if type(item) in _RAW else _frozen(item)) for key, item in value.items()])
    if isinstance(value, set | frozenset):
        return (frozenset, frozenset([_frozen(item) for item in value]))
    if kind is Message:  # never changed once made (its words and its values)
        return (Message, value.template, _frozen(value.values))
    shared = _SHARED.get(id(value))
    if shared is not None and shared[0] is value:
        return shared[1]
    names = _FIELDS.get(kind)
    if names is None:
        params = getattr(kind, "__dataclass_params__", None)
        if params is None or not params.frozen:
            raise _NotAValue
        names = _FIELDS[kind] = tuple(f.name for f in fields(value))
    fields_of = [getattr(value, name) for name in names]
    frozen = (kind, *[item if type(item) in _RAW else _frozen(item) for item in fields_of])
    if getattr(kind, "shared_unchanged", False):
        _SHARED[id(value)] = (value, frozen)  # kept with its value: the id cannot be another object's meanwhile
        if len(_SHARED) > SHARED_KEPT:
            del _SHARED[next(iter(_SHARED))]
    return frozen


def _key(template: str, context: dict[str, Any]) -> Hashable | None:
    try:
        return (template, *((name, _frozen(value)) for name, value in context.items()))
    except _NotAValue:
        return None


def _kept(key: Hashable | None) -> str | None:
    if key is None:
        return None
    kept = _outputs.get(key)
    if kept is not None:
        _outputs.move_to_end(key)
    return kept


def _keep(key: Hashable | None, output: Callable[[], str]) -> None:
    global _kept_chars
    if key is None or key in _outputs:
        return
    kept = _outputs[key] = output()
    _kept_chars += len(kept)
    while _kept_chars > KEPT_CHARS:
        _kept_chars -= len(_outputs.popitem(last=False)[1])


def _enforce_limits(name: str, rendered: dict[str, Any]) -> None:
    blocks = rendered.get("blocks", [])
    limit = MAX_MODAL_BLOCKS if rendered.get("type") in ("modal", "home") else MAX_BLOCKS
    if len(blocks) > limit:
        raise ValueError(f"template {name} rendered {len(blocks)} blocks; Slack allows {limit}")
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict) and len(text.get("text", "")) > MAX_SECTION_TEXT:
            text["text"] = _truncate(text["text"], MAX_SECTION_TEXT)
    if "type" not in rendered and not rendered.get("text"):
        raise ValueError(f"template {name} has no fallback text")
