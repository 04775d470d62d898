"""Where installed workspaces' tokens live: slack_sdk's async SQLAlchemy installation and OAuth state stores, on
Shipmate's own database, with every token sealed (storage/token_cipher.py) before it is written and opened when it
is read. Bolt's OAuth flow saves through it, its authorizer (and token rotation) reads and saves through it, and
uninstalling deletes through it."""

import copy
import logging
from typing import TypeVar

from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import and_, delete, or_
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import Database
from storage.models.installations import BOTS, INSTALLATIONS, OAUTH_STATES, TOKEN_COLUMNS
from storage.repositories import workspaces
from storage.token_cipher import TokenCipher

log = logging.getLogger(__name__)

STATE_EXPIRES_SECONDS = 600  # an install link works for ten minutes
Tokened = TypeVar("Tokened", Installation, Bot)


class SealedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """Writes go through the writer engine, taking their turn with the process's other writers (SQLite); finds,
    on every Slack request, through the reader (on SQLite a read never takes the write lock)."""

    def __init__(self, *, client_id: str, db: Database, cipher: TokenCipher) -> None:
        names = {"bots_table_name": BOTS, "installations_table_name": INSTALLATIONS, "logger": log}
        super().__init__(client_id=client_id, engine=db.engine, **names)  # type: ignore[arg-type]
        self.reader = AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=db.read_engine, **names)  # type: ignore[arg-type]
        self.db = db
        self.cipher = cipher

    def _sealed(self, item: Tokened) -> Tokened:
        sealed = copy.copy(item)
        for name in TOKEN_COLUMNS:
            if hasattr(sealed, name):
                setattr(sealed, name, self.cipher.seal(getattr(sealed, name)))
        return sealed

    def _opened(self, item: Tokened | None) -> Tokened | None:
        if item is None:
            return None
        for name in TOKEN_COLUMNS:
            if hasattr(item, name):
                setattr(item, name, self.cipher.open(getattr(item, name)))
        return item

    async def async_save(self, installation: Installation) -> None:
        # slack_sdk's save writes the installation, then its bot through `async_save_bot` (sealed again there:
        # `to_bot()` copies the installation's tokens, which are already sealed, so open them first).
        async with self.db.write_turn():
            await super().async_save(self._sealed(installation))
        if installation.team_id:  # an org-wide install names no workspace: its workspaces are learned as they speak
            await self.remember(team_id=installation.team_id, enterprise_id=installation.enterprise_id)

    async def remember(self, *, team_id: str, enterprise_id: str | None) -> None:
        async with self.db.write_turn(), self.engine.begin() as conn:
            await conn.execute(workspaces.upsert(conn.dialect.name, team_id=team_id, enterprise_id=enterprise_id))

    async def async_save_bot(self, bot: Bot) -> None:
        opened = copy.copy(bot)
        for name in ("bot_token", "bot_refresh_token"):
            value = getattr(opened, name)
            if value is not None and value.startswith("fernet:"):
                setattr(opened, name, self.cipher.open(value))
        sealed = self._sealed(opened)
        if self.db.holds_write_turn():  # called by `async_save`, which has the turn
            await super().async_save_bot(sealed)
            return
        async with self.db.write_turn():
            await super().async_save_bot(sealed)

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        found = await self.reader.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return self._opened(found)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        # slack_sdk's find may copy the latest bot's tokens into the installation through `async_find_bot`
        # (already opened there): open only what is still sealed.
        found = await self.reader.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, is_enterprise_install=is_enterprise_install
        )
        if found is not None:
            for name in TOKEN_COLUMNS:
                value = getattr(found, name, None)
                if isinstance(value, str) and value.startswith("fernet:"):
                    setattr(found, name, self.cipher.open(value))
        return found

    async def forget(self, *, enterprise_id: str | None, team_id: str | None, bots: bool, users: bool) -> None:
        """Deletes the tokens of a workspace (or of an org-wide install: `team_id` None): its bots' tokens, its
        people's tokens, or both (`app_uninstalled`). Bolt's listeners do the same; these are ours to audit."""
        c = self.installations.c
        where = and_(c.client_id == self.client_id, c.enterprise_id == enterprise_id, c.team_id == team_id)
        async with self.db.write_turn(), self.engine.begin() as conn:
            if bots and users:
                await conn.execute(delete(self.installations).where(where))
            elif bots:  # keep the rows of people's tokens, without the bot's
                await conn.execute(
                    self.installations.update()
                    .where(where)
                    .values(bot_token=None, bot_refresh_token=None, bot_token_expires_at=None)
                )
            elif users:
                await conn.execute(
                    self.installations.update()
                    .where(and_(where, or_(c.user_token.is_not(None), c.user_refresh_token.is_not(None))))
                    .values(user_token=None, user_refresh_token=None, user_token_expires_at=None)
                )
            if bots:
                b = self.bots.c
                await conn.execute(
                    delete(self.bots).where(
                        and_(b.client_id == self.client_id, b.enterprise_id == enterprise_id, b.team_id == team_id)
                    )
                )


def state_store(engine: AsyncEngine) -> AsyncSQLAlchemyOAuthStateStore:
    """OAuth `state` values, each good for one install within ten minutes."""
    return AsyncSQLAlchemyOAuthStateStore(
        expiration_seconds=STATE_EXPIRES_SECONDS, engine=engine, logger=log, table_name=OAUTH_STATES
    )
