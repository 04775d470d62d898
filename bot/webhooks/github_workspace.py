"""Which Slack workspace a GitHub event is for. `SHIPMATE_GITHUB_TEAM_ID` when it is set; else, with one bot
token, that token's workspace (`auth.test`, asked once); with many workspaces, the workspace whose policy file
maps the repository (`<team_id>.toml`)."""

import logging

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.domain.policy_book import DEFAULT, PolicyBook
from bot.notify.installation import Installation
from bot.settings import Settings
from bot.webhooks.errors import NotConfigured, SlackUnavailable

log = logging.getLogger(__name__)


async def workspace_of(settings: Settings, installation: Installation, book: PolicyBook, repository: str) -> str:
    if settings.shipmate_github_team_id:
        return settings.shipmate_github_team_id
    if not installation.many:
        try:
            return await installation.team_id()
        except (SlackApiError, TimeoutError, aiohttp.ClientError) as exc:
            log.warning("could not learn the bot token's workspace (auth.test): %s", type(exc).__name__)
            raise SlackUnavailable("Slack could not confirm this Shipmate's workspace; retry later.") from None
    owner = book.owner_of_repository(repository)
    if owner is not None and owner[0] is not None and owner[0].startswith("T"):
        return owner[0]
    where = f"{owner[0]}.toml, an organisation's policy" if owner and owner[0] else f"{DEFAULT}.toml"
    found = f"{repository} is mapped in {where}" if owner else f"no workspace's policy maps {repository}"
    raise NotConfigured(
        "{found}: with many workspaces, put its github_repository in the policy file of the workspace it belongs "
        "to (<team_id>.toml), or set SHIPMATE_GITHUB_TEAM_ID.",
        found=found,
    )
