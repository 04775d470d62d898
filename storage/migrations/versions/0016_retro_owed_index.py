"""App Home reads the emergency changes still owing their full approval on every open: a partial index keeps that
read to the few rows it wants among a workspace's releases.

Revision ID: 0016_retro_owed_index
Revises: 0015_installations
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_retro_owed_index"
down_revision: str | None = "0015_installations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWED = "retro_due_at IS NOT NULL AND retro_approved_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_releases_team_retro_owed",
        "releases",
        ["team_id", "retro_due_at"],
        sqlite_where=sa.text(OWED),
        postgresql_where=sa.text(OWED),
    )


def downgrade() -> None:
    op.drop_index("ix_releases_team_retro_owed", table_name="releases")
