"""alerts: what Alertmanager and Grafana said about a service in an environment, and what was decided

Revision ID: 0013_alerts_soak
Revises: 0012_audit_chain
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.types import UTCDateTime

revision: str = "0013_alerts_soak"
down_revision: str | None = "0012_audit_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _text(32), nullable=False),
        sa.Column("fingerprint", _text(64), nullable=False),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", _text(10), nullable=False),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False, server_default=""),
        sa.Column("source_url", _text(500), nullable=True),
        sa.Column("source", _text(20), nullable=False),
        sa.Column("service", _text(63), nullable=False),
        sa.Column("environment", _text(31), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=True),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.Column("watched", sa.Boolean(), nullable=False),
        sa.Column("decision", _text(20), nullable=False),
        sa.Column("decided_by", _text(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("rollback_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"]),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_alerts_notification", "alerts", ["team_id", "fingerprint", "starts_at", "status"], unique=True)
    op.create_index("ix_alerts_slot", "alerts", ["team_id", "service", "environment", "starts_at"])
    op.create_index("ix_alerts_release", "alerts", ["team_id", "release_id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_release", table_name="alerts")
    op.drop_index("ix_alerts_slot", table_name="alerts")
    op.drop_index("uq_alerts_notification", table_name="alerts")
    op.drop_table("alerts")
