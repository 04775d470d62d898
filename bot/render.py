"""Jinja2 → Block Kit. User text and messages go through `mrkdwn` (`bot/slack_text.py`) and `|tojson`; templates fail
on missing names."""

import json
from datetime import datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

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
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
    env.globals.update(ActionId=ActionId, BlockId=BlockId, CallbackId=CallbackId, INPUT=INPUT)
    return env


def render(name: str, **context: Any) -> dict[str, Any]:
    """Render `templates/<name>.json.j2` into a dict (`text` + `blocks`, or a view)."""
    raw = environment().get_template(f"{name}.json.j2").render(**context)
    try:
        rendered: dict[str, Any] = json.loads(raw)
    except json.JSONDecodeError as exc:  # a template bug, not user input: fail loudly in tests
        raise ValueError(f"template {name} produced invalid JSON: {exc}\n{raw[:2000]}") from exc
    _enforce_limits(name, rendered)
    return rendered


def render_text(name: str, **context: Any) -> str:
    return environment().get_template(f"{name}.txt.j2").render(**context).strip()


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
