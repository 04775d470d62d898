"""release notes computed from the code: one row per release, against the base it was computed for

Revision ID: 0011_release_notes
Revises: 0010_board_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types

revision: str = "0011_release_notes"
down_revision: str | None = "0010_board_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "release_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("base_sha", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("head_sha", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("standing", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("total_commits", sa.Integer(), nullable=False),
        sa.Column("brief", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("computed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "release_id", name="uq_release_notes_team_release"),
    )


def downgrade() -> None:
    op.drop_table("release_notes")
