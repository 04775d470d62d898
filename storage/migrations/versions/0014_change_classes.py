"""change classes: a release is a standard, normal or emergency change

Releases record their class, the standard change template they name, the incident of an emergency change, when its
retroactive approval is due and was given, and the CAB's decision (who, when). Columns are only added.

Revision ID: 0014_change_classes
Revises: 0013_alerts_soak
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.types import UTCDateTime

revision: str = "0014_change_classes"
down_revision: str | None = "0013_alerts_soak"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_class", _TEXT(length=10), nullable=False, server_default="normal"))
        batch_op.add_column(sa.Column("standard_name", _TEXT(length=60), nullable=True))
        batch_op.add_column(sa.Column("incident_url", _TEXT(length=500), nullable=True))
        batch_op.add_column(sa.Column("retro_due_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retro_approved_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cab_decision", _TEXT(length=10), nullable=True))
        batch_op.add_column(sa.Column("cab_decided_by", _TEXT(length=32), nullable=True))
        batch_op.add_column(sa.Column("cab_decided_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cab_note", _TEXT(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("releases", schema=None) as batch_op:
        for name in (
            "cab_note",
            "cab_decided_at",
            "cab_decided_by",
            "cab_decision",
            "retro_approved_at",
            "retro_due_at",
            "incident_url",
            "standard_name",
            "change_class",
        ):
            batch_op.drop_column(name)
