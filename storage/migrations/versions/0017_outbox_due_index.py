"""A dispatcher claims the oldest due outbox rows: a partial index of the pending rows' ids gives them in order, so
a claim reads its batch (and the rows it skips) instead of every pending row, sorted, whatever the backlog.

Revision ID: 0017_outbox_due_index
Revises: 0016_retro_owed_index
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_outbox_due_index"
down_revision: str | None = "0016_retro_owed_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'pending'"


def upgrade() -> None:
    op.create_index("ix_outbox_due", "outbox", ["id"], sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))


def downgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
