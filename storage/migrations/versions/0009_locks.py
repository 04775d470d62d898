"""deploy locks and their queues

A lock names one service (or `*`, every service) in an environment, its holder, reason, since and until; at most
one per service × environment is not ended (a partial unique index). The queue keeps who waits for a lock, first
come first served.

Revision ID: 0009_locks
Revises: 0008_commits_and_fencing
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types

revision: str = "0009_locks"
down_revision: str | None = "0008_commits_and_fencing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = sa.text("state <> 'ended'")
_WAITING = sa.text("left_at IS NULL")


def upgrade() -> None:
    string = sqlmodel.sql.sqltypes.AutoString
    when = storage.types.UTCDateTime
    op.create_table(
        "deploy_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", string(length=32), nullable=False),
        sa.Column("service", string(length=63), nullable=False),
        sa.Column("environment", string(length=31), nullable=False),
        sa.Column("holder", string(length=32), nullable=False),
        sa.Column("reason", string(length=500), nullable=False),
        sa.Column("state", string(length=10), nullable=False),
        sa.Column("since", when(timezone=True), nullable=False),
        sa.Column("until", when(timezone=True), nullable=False),
        sa.Column("length_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", when(timezone=True), nullable=False),
        sa.Column("ended_at", when(timezone=True), nullable=True),
        sa.Column("ended_by", string(length=32), nullable=True),
        sa.Column("ending", string(length=10), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deploy_locks", schema=None) as batch_op:
        batch_op.create_index(
            "uq_deploy_locks_live",
            ["team_id", "service", "environment"],
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        )
        batch_op.create_index("ix_deploy_locks_team_holder", ["team_id", "holder", "state"], unique=False)
    op.create_table(
        "lock_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", string(length=32), nullable=False),
        sa.Column("service", string(length=63), nullable=False),
        sa.Column("environment", string(length=31), nullable=False),
        sa.Column("user_id", string(length=32), nullable=False),
        sa.Column("reason", string(length=500), nullable=False),
        sa.Column("length_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", when(timezone=True), nullable=False),
        sa.Column("left_at", when(timezone=True), nullable=True),
        sa.Column("outcome", string(length=10), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lock_queue", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lock_queue_waiting",
            ["team_id", "service", "environment", "id"],
            unique=False,
            sqlite_where=_WAITING,
            postgresql_where=_WAITING,
        )


def downgrade() -> None:
    with op.batch_alter_table("lock_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_lock_queue_waiting")
    op.drop_table("lock_queue")
    with op.batch_alter_table("deploy_locks", schema=None) as batch_op:
        batch_op.drop_index("ix_deploy_locks_team_holder")
        batch_op.drop_index("uq_deploy_locks_live")
    op.drop_table("deploy_locks")
