"""Which workspace this Shipmate serves: the team of our bot token, from Slack's `auth.test`, asked once."""

import asyncio

from slack_sdk.web.async_client import AsyncWebClient


class Installation:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._team_id: str | None = None
        self._asking = asyncio.Lock()

    async def team_id(self) -> str:
        """Raises what the Slack call raises (`SlackApiError`, timeouts, connection errors); only an answer is kept."""
        if self._team_id is None:
            async with self._asking:
                if self._team_id is None:
                    response = await self.client.auth_test()
                    self._team_id = str(response["team_id"])
        return self._team_id
