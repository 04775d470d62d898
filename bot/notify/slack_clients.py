"""The Web API client for a workspace. One bot token: the process's one client, for every workspace it serves.
Many workspaces: a client carrying that workspace's bot token from the installation store (a rotating token is
refreshed near its expiry, with slack_sdk's token rotator, and the new one saved), kept for a minute per workspace.

A workspace of an org-wide install (Enterprise Grid) has no installation of its own: its enterprise's is used, the
enterprise being what Slack's requests said it was (storage/repositories/workspaces.py)."""

import asyncio
import logging
import time

from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.notify.sending import Stale
from storage.db import Database
from storage.installation_store import SealedInstallationStore
from storage.repositories import workspaces

log = logging.getLogger(__name__)

KEEP_SECONDS = 60.0


class NotInstalled(Stale):
    """Shipmate is not installed in this workspace (any more): what was meant for it never goes out."""

    def __init__(self, team_id: str) -> None:
        super().__init__(f"Shipmate is not installed in workspace {team_id}")
        self.team_id = team_id


class SlackClients:
    def __init__(
        self,
        base: AsyncWebClient,
        *,
        db: Database | None = None,
        store: SealedInstallationStore | None = None,
        client_id: str = "",
        client_secret: str = "",
        rotation_minutes: int = 120,
    ) -> None:
        self.base = base
        self.db = db
        self.store = store
        self.rotation_minutes = rotation_minutes
        self._rotator = AsyncTokenRotator(client_id=client_id, client_secret=client_secret, client=base)
        self._kept: dict[str, tuple[float, str]] = {}
        self._finding: dict[str, asyncio.Lock] = {}

    @property
    def many(self) -> bool:
        return self.store is not None

    async def for_team(self, team_id: str) -> AsyncWebClient:
        """Raises `NotInstalled` when the workspace has no bot token (never installed, or uninstalled)."""
        if self.store is None:
            return self.base
        token = await self._token(team_id)
        base = self.base
        return AsyncWebClient(
            token=token,
            base_url=base.base_url,
            timeout=base.timeout,
            session=base.session,
            retry_handlers=base.retry_handlers,
            logger=base.logger,
        )

    async def _token(self, team_id: str) -> str:
        kept = self._kept.get(team_id)
        if kept is not None and time.monotonic() - kept[0] < KEEP_SECONDS:
            return kept[1]
        lock = self._finding.setdefault(team_id, asyncio.Lock())
        async with lock:
            kept = self._kept.get(team_id)
            if kept is not None and time.monotonic() - kept[0] < KEEP_SECONDS:
                return kept[1]
            token = await self._find(team_id)
            self._kept[team_id] = (time.monotonic(), token)
            return token

    async def _find(self, team_id: str) -> str:
        assert self.store is not None
        assert self.db is not None
        async with self.db.read() as session:
            _known, enterprise_id = await workspaces.enterprise_of(session=session, team_id=team_id)
        tries: list[tuple[str | None, str | None, bool]] = [(enterprise_id, team_id, False)]
        if enterprise_id is not None:
            tries.append((enterprise_id, None, True))  # an org-wide install serves each workspace of its enterprise
        for enterprise, team, org_wide in tries:
            bot = await self.store.async_find_bot(
                enterprise_id=enterprise, team_id=team, is_enterprise_install=org_wide
            )
            if bot is None or not bot.bot_token:
                continue
            if bot.bot_refresh_token:
                rotated = await self._rotator.perform_bot_token_rotation(
                    bot=bot, minutes_before_expiration=self.rotation_minutes
                )
                if rotated is not None:
                    await self.store.async_save_bot(rotated)
                    bot = rotated
            return str(bot.bot_token)
        raise NotInstalled(team_id)

    async def forget(self, *, enterprise_id: str | None, team_id: str | None, bots: bool, users: bool) -> None:
        """Deletes a workspace's (or an org-wide install's: `team_id` None) tokens from the store, and stops using
        them at once in this process."""
        if self.store is not None:
            await self.store.forget(enterprise_id=enterprise_id, team_id=team_id, bots=bots, users=users)
        if bots and team_id is not None:
            self._kept.pop(team_id, None)
        elif bots:
            self._kept.clear()
