"""Slack mrkdwn escaping: the three control characters Slack documents, nothing more (no HTML entities)."""

import re

_ID = re.compile(r"^[UWSCGD][A-Z0-9]{2,20}$")


def escape(text: str) -> str:
    """Make user text inert: `<!channel>` shows as typed and never pings anyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str, limit: int = 60) -> str:
    """User text shown as `inline code`, escaped and shortened so an error never echoes a novel."""
    shown = text if len(text) <= limit else text[:limit] + "…"
    return "`" + escape(shown.replace("`", "'")) + "`"


def mention(entity_id: str) -> str:
    """`<@U123>` for people, `<!subteam^S123>` for user groups; anything else escaped."""
    if not _ID.match(entity_id):
        return escape(entity_id)
    if entity_id.startswith("S"):
        return f"<!subteam^{entity_id}>"
    if entity_id[0] in "CG":
        return f"<#{entity_id}>"
    return f"<@{entity_id}>"
