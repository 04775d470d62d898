"""Which workspaces this Shipmate serves. One bot token: the team of that token, from Slack's `auth.test`, asked
once. Many workspaces (OAuth install): every workspace with a bot token in the installation store."""

import asyncio

from slack_sdk.web.async_client import AsyncWebClient

from bot.notify.slack_clients import NotInstalled, SlackClients


class Installation:
    def __init__(self, client: AsyncWebClient, clients: SlackClients | None = None) -> None:
        self.client = client
        self.clients = clients
        self._team_id: str | None = None
        self._asking = asyncio.Lock()

    @property
    def many(self) -> bool:
        return self.clients is not None and self.clients.many

    async def team_id(self) -> str:
        """The bot token's workspace (one bot token only). Raises what the Slack call raises (`SlackApiError`,
        timeouts, connection errors); only an answer is kept."""
        if self._team_id is None:
            async with self._asking:
                if self._team_id is None:
                    response = await self.client.auth_test()
                    self._team_id = str(response["team_id"])
        return self._team_id

    async def serves(self, team_id: str) -> bool:
        if self.clients is not None and self.clients.many:
            try:
                await self.clients.for_team(team_id)
            except NotInstalled:
                return False
            return True
        return team_id == await self.team_id()
