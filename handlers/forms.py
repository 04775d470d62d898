"""Modal state → plain values. A middleware puts `form` (block id → value) into the Bolt context."""

from collections.abc import Awaitable, Callable
from typing import Any

from bot.ids import INPUT


def form_values(view: dict[str, Any]) -> dict[str, Any]:
    """One value per input block: text, selected option value, epoch seconds, user id or date string."""
    values: dict[str, Any] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        element: dict[str, Any] = actions.get(INPUT) or next(iter(actions.values()), {})
        kind = element.get("type")
        if kind == "static_select":
            option = element.get("selected_option")
            values[block_id] = option["value"] if option else None
        elif kind == "datetimepicker":
            values[block_id] = element.get("selected_date_time")
        elif kind == "datepicker":
            values[block_id] = element.get("selected_date")
        elif kind == "users_select":
            values[block_id] = element.get("selected_user")
        else:
            values[block_id] = element.get("value")
    return values


async def form_middleware(body: dict[str, Any], context: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:
    if body.get("type") == "view_submission":
        context["form"] = form_values(body.get("view", {}))
    await next()
