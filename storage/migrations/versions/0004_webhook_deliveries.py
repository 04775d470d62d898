"""webhook deliveries answered once

Revision ID: 0004_webhook_deliveries
Revises: 0002

`webhook_deliveries` keeps the first answer to each signed delivery (team, endpoint, delivery id).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types

revision: str = "0004_webhook_deliveries"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("endpoint", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("delivery_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "endpoint", "delivery_id"),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
