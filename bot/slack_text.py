"""Slack's mrkdwn, built here and nowhere else: escaping, mentions, dates, bold and code, and a `Message` rendered
with the sentence and every value escaped once. The templates' filters (`bot/render.py`) are these functions."""

import re
from datetime import datetime

from bot.domain.message import Code, Link, Mention, Message, Strong, Value, When

_ID = re.compile(r"^[UWSCGD][A-Z0-9]{2,20}$")
DATE_TIME = "{date_short_pretty} {time}"  # Slack's tokens for a date with its time, in the reader's time zone
TIME = "{time}"


def escape(text: str) -> str:
    """Make user text inert: `<!channel>` shows as typed and never pings anyone. Slack's three control characters,
    nothing more (no HTML entities)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(entity_id: str) -> str:
    """`<@U123>` for people, `<!subteam^S123>` for user groups, `<#C123>` for channels; anything else escaped."""
    if not _ID.match(entity_id):
        return escape(entity_id)
    if entity_id.startswith("S"):
        return f"<!subteam^{entity_id}>"
    if entity_id[0] in "CG":
        return f"<#{entity_id}>"
    return f"<@{entity_id}>"


def date(at: datetime, tokens: str = DATE_TIME, fallback: str | None = None) -> str:
    """`<!date^…>`: each reader sees the moment in their own time zone; `fallback` (UTC) where Slack cannot."""
    shown = fallback if fallback is not None else When(at).utc()
    return f"<!date^{int(at.timestamp())}^{tokens}|{escape(shown)}>"


def strong(text: str) -> str:
    return f"*{escape(text)}*"


def code(text: str) -> str:
    return f"`{escape(text)}`"


def link(value: Link) -> str:
    """`<url|text>` with the text escaped; an address that cannot be a link leaves the text alone."""
    url = value.safe_url()
    return f"<{escape(url)}|{escape(value.text)}>" if url else escape(value.text)


def mrkdwn(value: Value) -> str:
    """Any message value as mrkdwn: a `Message`'s sentence and values, or a lone text (escaped), mention or date."""
    if isinstance(value, str):  # first: the templates' filter sees text far more often than anything else
        return escape(value)
    if isinstance(value, Message):
        return "".join(escape(literal) + ("" if inner is None else mrkdwn(inner)) for literal, inner in value.parts())
    if isinstance(value, Code):
        return code(value.shown())
    if isinstance(value, Mention):
        return mention(value.entity_id)
    if isinstance(value, When):
        return date(value.at, TIME if value.time_only else DATE_TIME, value.utc())
    if isinstance(value, Strong):
        return strong(value.text)
    if isinstance(value, Link):
        return link(value)
    if isinstance(value, int | float):
        return str(value)
    return ", ".join(mrkdwn(item) for item in value)
