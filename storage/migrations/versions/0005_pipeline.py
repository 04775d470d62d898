"""the pipeline: deployment requests Shipmate sends to a deployer, and the commit a release was built from

Revision ID: 0005_pipeline
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types

revision: str = "0005_pipeline"
down_revision: str | None = "0004_webhook_deliveries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deployment_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("service", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("environment", sqlmodel.sql.sqltypes.AutoString(length=31), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("deployer", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("override_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("deadline_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.Column("ci_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"]),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deployment_requests", schema=None) as batch_op:
        batch_op.create_index("uq_deployment_requests_request", ["request_id"], unique=True)
        batch_op.create_index(
            "ix_deployment_requests_slot", ["team_id", "service", "environment", "status"], unique=False
        )
        batch_op.create_index("ix_deployment_requests_release", ["team_id", "release_id", "status"], unique=False)
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commit_sha", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.create_index("ix_releases_team_commit", ["team_id", "service", "commit_sha"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_index("ix_releases_team_commit")
        batch_op.drop_column("commit_sha")
    with op.batch_alter_table("deployment_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_deployment_requests_release")
        batch_op.drop_index("ix_deployment_requests_slot")
        batch_op.drop_index("uq_deployment_requests_request")
    op.drop_table("deployment_requests")
