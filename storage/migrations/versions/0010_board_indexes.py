"""web board: indexes for a workspace's newest deployments and rollbacks

The board lists the newest deployments of a workspace (any environment) and its newest rollbacks; each walks one
of these indexes from its newest end and stops at its limit. The rollbacks' index is partial (rolled-back
deployments only), so no query for live deployments (`rolled_back_at IS NULL`) is ever planned through it.
Sessions are signed cookies: no table.

Revision ID: 0010_board_indexes
Revises: 0009_locks
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_board_indexes"
down_revision: str | None = "0009_locks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index("ix_deployments_team_id", ["team_id", "id"], unique=False)
        batch_op.create_index(
            "ix_deployments_team_rolled_back",
            ["team_id", "rolled_back_at"],
            unique=False,
            sqlite_where=sa.text("rolled_back_at IS NOT NULL"),
            postgresql_where=sa.text("rolled_back_at IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_index("ix_deployments_team_rolled_back")
        batch_op.drop_index("ix_deployments_team_id")
