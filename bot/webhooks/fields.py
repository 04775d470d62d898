"""Field types shared by the JSON bodies pipelines send us, with the same rules (and words) as Slack input."""

import logging
from typing import Annotated, TypeVar

import aiohttp
from pydantic import AfterValidator, BaseModel, Field, ValidationError
from slack_sdk.errors import SlackApiError

from bot.domain.errors import InvalidInput
from bot.domain.validation import check_service, check_version
from bot.notify.installation import Installation
from bot.webhooks.errors import InvalidBody, InvalidJson, SlackUnavailable, TeamMismatch

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


def parse(model: type[Body], raw: bytes) -> Body:
    """The body as `model`; raises `InvalidJson` when it is not JSON in UTF-8 at all, `InvalidBody` naming each bad
    field."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        syntax = [e["msg"] for e in exc.errors(include_url=False) if e["type"] == "json_invalid"]
        if syntax:
            raise InvalidJson("The body must be one JSON object in UTF-8 ({problem}).", problem=syntax[0]) from None
        raise InvalidBody(
            [
                {
                    "field": ".".join(str(p) for p in e["loc"]) or "(body)",
                    "message": e["msg"].removeprefix("Value error, "),
                }
                for e in exc.errors(include_url=False)
            ]
        ) from None


async def workspace(installation: Installation) -> str:
    """The workspace this Shipmate is installed in (`SlackUnavailable` when Slack cannot say now)."""
    try:
        return await installation.team_id()
    except (SlackApiError, TimeoutError, aiohttp.ClientError) as exc:
        log.warning("could not confirm the installation's workspace (auth.test): %s", type(exc).__name__)
        raise SlackUnavailable("Slack could not confirm this Shipmate's workspace; retry later.") from None


async def require_workspace(installation: Installation, team_id: str) -> None:
    """Refuse (`TeamMismatch`, `SlackUnavailable`) unless `team_id` is a workspace this Shipmate is installed in."""
    try:
        serves = await installation.serves(team_id)
    except (SlackApiError, TimeoutError, aiohttp.ClientError) as exc:
        log.warning("could not confirm the installation's workspace (auth.test): %s", type(exc).__name__)
        raise SlackUnavailable("Slack could not confirm this Shipmate's workspace; retry later.") from None
    if not serves:
        log.warning("refused a request for team %s (not installed there)", team_id)
        if installation.many:
            raise TeamMismatch("Shipmate is not installed in the workspace {team}.", team=team_id)
        raise TeamMismatch("This Shipmate serves another workspace, not {team}.", team=team_id)
