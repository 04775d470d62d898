"""a release is its commit; outbox claims are fenced; everyone who changed a scope is remembered

Releases keep everyone who changed their scope since it was last proposed (`scope_authors`, space-separated ids;
existing releases get their last author). Deployments and deployment requests record the commit they carry.
Outbox rows get the token of the claim that owns them, re-checked right before each send so that two processes
never send one row twice. Columns are only added (no table is rebuilt on SQLite).

Revision ID: 0008_commits_and_fencing
Revises: 0007_delivery_metrics
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0008_commits_and_fencing"
down_revision: str | None = "0007_delivery_metrics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope_authors", sa.Text(), nullable=False, server_default=""))
    op.execute("UPDATE releases SET scope_authors = scope_changed_by")
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commit_sha", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
    with op.batch_alter_table("deployment_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commit_sha", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claim_token")
    with op.batch_alter_table("deployment_requests", schema=None) as batch_op:
        batch_op.drop_column("commit_sha")
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_column("commit_sha")
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_column("scope_authors")
