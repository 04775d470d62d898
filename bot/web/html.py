"""Jinja2 → HTML for the web pages (`templates/web/*.html.j2`): autoescaped, so people's text is shown as text,
and strict about missing names. Times are shown in the policy's time zone."""

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def _when(value: datetime | None, tz: ZoneInfo, fmt: str = "%a %d %b %H:%M") -> str:
    return "—" if value is None else value.astimezone(tz).strftime(fmt)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("templates", "web"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "html.j2"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["when"] = _when
    return env


def render(name: str, **values: Any) -> str:
    return environment().get_template(name).render(**values)
