"""Field types shared by the JSON bodies pipelines send us, with the same rules (and words) as Slack input."""

import logging
from typing import Annotated, Any, TypeVar

import aiohttp
from aiohttp import web
from pydantic import AfterValidator, BaseModel, Field, ValidationError
from slack_sdk.errors import SlackApiError

from bot.domain.errors import InvalidInput
from bot.domain.validation import check_service, check_version
from bot.notify.installation import Installation

log = logging.getLogger(__name__)


def _service(value: str) -> str:
    try:
        return check_service(value)
    except InvalidInput as error:
        raise ValueError(error.plain) from None


def _version(value: str) -> str:
    try:
        return check_version(value)
    except InvalidInput as error:
        raise ValueError(error.plain) from None


TeamId = Annotated[str, Field(pattern=r"^[TE][A-Z0-9]{2,20}$")]
ServiceName = Annotated[str, AfterValidator(_service)]
Version = Annotated[str, AfterValidator(_version)]
EnvironmentName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,30}$")]
RequestId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
CommitSha = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{40}$")]
DeliveryId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")]  # printable ASCII

Body = TypeVar("Body", bound=BaseModel)


def error(status: int, code: str, **extra: Any) -> web.Response:
    return web.json_response({"ok": False, "error": code, **extra}, status=status)


def parse(model: type[Body], raw: bytes) -> Body | web.Response:
    """The body as `model`, or the answer: 400 when it is not JSON in UTF-8 at all, 422 naming each bad field."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        syntax = [e["msg"] for e in exc.errors(include_url=False) if e["type"] == "json_invalid"]
        if syntax:
            message = f"The body must be one JSON object in UTF-8 ({syntax[0]})."
            return error(400, "invalid_json", message=message)
        return invalid_body(exc)


def invalid_body(exc: ValidationError) -> web.Response:
    problems = [
        {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"].removeprefix("Value error, ")}
        for e in exc.errors(include_url=False)
    ]
    return error(422, "invalid_body", details=problems)


async def workspace_refusal(installation: Installation, team_id: str) -> web.Response | None:
    """None when `team_id` is the workspace this Shipmate is installed in; otherwise the answer (not kept)."""
    try:
        installed = await installation.team_id()
    except (SlackApiError, TimeoutError, aiohttp.ClientError) as exc:
        log.warning("could not confirm the installation's workspace (auth.test): %s", type(exc).__name__)
        return error(
            503, "slack_unavailable", message="Slack could not confirm this Shipmate's workspace; retry later."
        )
    if team_id != installed:
        log.warning("refused a request for team %s (installed in %s)", team_id, installed)
        return error(403, "team_mismatch", message=f"This Shipmate serves another workspace, not {team_id}.")
    return None
