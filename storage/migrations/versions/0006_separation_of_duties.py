"""separation of duties: who last changed a release's scope, and the scope each decision was given on

Revision ID: 0006_separation_of_duties
Revises: 0005_pipeline

Existing releases get their proposer as the scope's last author (nobody else could change it before) and scope
version 1; existing decisions keep no hash (history shows none for them). Columns are only added (no table is
rebuilt on SQLite), with server defaults the models declare too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006_separation_of_duties"
down_revision: str | None = "0005_pipeline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "scope_changed_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False, server_default=""
            )
        )
        batch_op.add_column(sa.Column("scope_version", sa.Integer(), nullable=False, server_default="1"))
    op.execute("UPDATE releases SET scope_changed_by = proposer_id")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("scope_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_column("scope_version")
        batch_op.drop_column("scope_hash")
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_column("scope_version")
        batch_op.drop_column("scope_changed_by")
