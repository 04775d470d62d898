"""delivery metrics: commit time and failed sign-off on deployments, indexes for time-range aggregates

Deployments learn when their change was committed (`commit_at`, from CI) and whether a failed regression sign-off
marked them as a change failure (`verification_failed_at`); earlier failed sign-offs are carried over. Two indexes
serve "one environment's deployments between two times", for the workspace and for one service.

Revision ID: 0007_delivery_metrics
Revises: 0006_separation_of_duties
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0007_delivery_metrics"
down_revision: str | None = "0006_separation_of_duties"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A failed sign-off recorded after a succeeded deployment of the same release and environment marks it.
BACKFILL = """
UPDATE deployments SET verification_failed_at = (
    SELECT min(v.created_at) FROM verifications v
    WHERE v.team_id = deployments.team_id AND v.release_id = deployments.release_id
      AND v.environment = deployments.environment AND NOT v.passed AND v.created_at >= deployments.created_at
)
WHERE outcome = 'succeeded' AND EXISTS (
    SELECT 1 FROM verifications v
    WHERE v.team_id = deployments.team_id AND v.release_id = deployments.release_id
      AND v.environment = deployments.environment AND NOT v.passed AND v.created_at >= deployments.created_at
)
"""


def upgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commit_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("verification_failed_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_deployments_team_env_created", ["team_id", "environment", "created_at"], unique=False)
        batch_op.create_index(
            "ix_deployments_team_service_env_created",
            ["team_id", "service", "environment", "created_at"],
            unique=False,
        )
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_index("ix_deployments_team_service_env_created")
        batch_op.drop_index("ix_deployments_team_env_created")
        batch_op.drop_column("verification_failed_at")
        batch_op.drop_column("commit_at")
