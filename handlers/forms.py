"""Modal state → plain values. A middleware puts `form` (block id → value) into the Bolt context."""

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.domain.errors import DomainError
from bot.ids import INPUT, BlockId


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


async def form_middleware(body: dict[str, Any], context: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> None:
    if body.get("type") == "view_submission":
        context["form"] = form_values(body.get("view", {}))
    await next()


class FormMiddleware(AsyncMiddleware):
    """`form_middleware` as Bolt calls a class-based middleware: with the request as it is (a function middleware
    costs a build of every listener argument, on every request of every surface)."""

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        await form_middleware(req.body, req.context, next)
        return None


def view_metadata(body: dict[str, Any]) -> dict[str, Any]:
    """What we stored in the modal; anything else (an old or foreign view) reads as nothing."""
    try:
        loaded = json.loads(body.get("view", {}).get("private_metadata") or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


# Which input block shows an error about which field (`DomainError.field`), per modal.
PROPOSE_FIELDS: dict[str, BlockId] = {
    "service": BlockId.SERVICE,
    "version": BlockId.VERSION,
    "summary": BlockId.SUMMARY,
    "changes": BlockId.CHANGES,
    "risk": BlockId.RISK,
    "rollback_plan": BlockId.ROLLBACK_PLAN,
    "window": BlockId.WINDOW_HOURS,
    "window_start": BlockId.WINDOW_START,
    "commit": BlockId.COMMIT,
    "standard": BlockId.CHANGE_CLASS,
    "incident": BlockId.INCIDENT,
}
ACTION_ITEM_FIELDS: dict[str, BlockId] = {"owner": BlockId.OWNER, "due": BlockId.DUE, "text": BlockId.TEXT}
REJECT_FIELDS: dict[str, BlockId] = {"reason": BlockId.REASON}

MAX_MODAL_ERROR = 150  # Slack's limit for an input block's error text


def modal_errors(error: DomainError, fields: Mapping[str, BlockId], *, default: BlockId) -> dict[str, str]:
    """`response_action: errors` for a refusal: plain text under the input it is about (else under `default`)."""
    block = fields.get(error.field or "", default)
    return {str(block): error.plain[:MAX_MODAL_ERROR]}


def as_text(value: Any) -> str:
    """A form value as text, whatever a (possibly forged) payload put there."""
    return "" if value is None else str(value)
