"""The tables of slack_sdk's SQLAlchemy installation and OAuth state stores, declared on our metadata so that the
migrations build them and the schema check covers them. Their columns are slack_sdk's own, except that the token
columns are wider: they hold Fernet ciphertext (storage/token_cipher.py), about twice a token's length.

`slack_workspaces` is ours: which enterprise a workspace belongs to (learned from Slack's requests), so that a
message for a workspace of an org-wide install finds the enterprise's token, and its policy."""

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Column, String, Table
from sqlmodel import SQLModel

from storage.types import UTCDateTime

TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
SEALED_TOKEN_LENGTH = 1000

INSTALLATIONS = "slack_installations"
BOTS = "slack_bots"
OAUTH_STATES = "slack_oauth_states"


def _widened(table: Table) -> Table:
    for name in TOKEN_COLUMNS:
        if name in table.c:
            table.c[name].type = String(SEALED_TOKEN_LENGTH)
    return table


slack_installations = _widened(SQLAlchemyInstallationStore.build_installations_table(SQLModel.metadata, INSTALLATIONS))
slack_bots = _widened(SQLAlchemyInstallationStore.build_bots_table(SQLModel.metadata, BOTS))
slack_oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(SQLModel.metadata, OAUTH_STATES)

slack_workspaces = Table(
    "slack_workspaces",
    SQLModel.metadata,
    Column("team_id", String(32), primary_key=True),
    Column("enterprise_id", String(32), nullable=True),
    Column("seen_at", UTCDateTime, nullable=False),
)

__all__ = ["slack_bots", "slack_installations", "slack_oauth_states", "slack_workspaces"]
