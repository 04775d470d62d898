"""Slack user groups → members, through `usergroups.users.list`, cached briefly per workspace."""

import logging
import time
from collections.abc import Iterable

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.notify.slack_clients import NotInstalled, SlackClients

log = logging.getLogger(__name__)


class SlackDirectory:
    def __init__(self, clients: SlackClients, *, ttl: float = 300.0) -> None:
        self.clients = clients
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}

    async def members(self, team_id: str, group_ids: Iterable[str]) -> dict[str, frozenset[str]]:
        resolved: dict[str, frozenset[str]] = {}
        now = time.monotonic()
        for group_id in group_ids:
            cached = self._cache.get((team_id, group_id))
            if cached and now - cached[0] < self.ttl:
                resolved[group_id] = cached[1]
                continue
            try:
                client = await self.clients.for_team(team_id)
                response = await client.usergroups_users_list(usergroup=group_id, team_id=team_id)
                users: frozenset[str] = frozenset(response.get("users", []))
            except (SlackApiError, TimeoutError, aiohttp.ClientError, NotInstalled) as exc:
                # Fail closed: an unresolvable group grants nothing (or what it granted last), and the log says so.
                log.warning("could not resolve user group %s: %s", group_id, _why(exc))
                users = cached[1] if cached else frozenset()
            self._cache[(team_id, group_id)] = (now, users)
            resolved[group_id] = users
        return resolved


def _why(exc: Exception) -> str:
    if isinstance(exc, NotInstalled):
        return "not installed in the workspace"
    return f"slack {exc.response.status_code}" if isinstance(exc, SlackApiError) else type(exc).__name__
