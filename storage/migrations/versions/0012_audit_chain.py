"""the audit trail becomes a hash chain per workspace

Every audit event gets `prev_hash` (the hash of the workspace's event before it, or 64 zeros for the first) and
`hash` (sha256 of its canonical form, see `bot/domain/audit_chain.py`). Existing events are chained here, in id order
per workspace: the append-only guard is dropped for that one UPDATE pass and created again, as 0004 made it.
Columns are only added (no table is rebuilt on SQLite); they stay nullable in the schema, and `shipmate audit
verify` reports an event without a hash as broken.

Revision ID: 0012_audit_chain
Revises: 0011_release_notes
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types
from bot.domain import audit_chain

revision: str = "0012_audit_chain"
down_revision: str | None = "0011_release_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSAL = "audit_events is append-only"  # the guard of 0004, as it was made there
POSTGRES_GUARD = (
    f"""CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{REFUSAL}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$""",
    """CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
)
PAGE = 5_000
# PostgreSQL: the workspace's append lock and its newest hash in one round trip. Each statement of a VOLATILE
# PL/pgSQL function takes a fresh snapshot under READ COMMITTED, so the head is read after the lock is held and
# sees the commit of whichever writer held it before.
CHAIN_HEAD_FUNCTION = """CREATE FUNCTION audit_chain_head(team text, lock_class integer) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_class, hashtext(team));
    RETURN (SELECT hash FROM audit_events WHERE team_id = team ORDER BY id DESC LIMIT 1);
END
$$"""

events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("team_id", sa.String()),
    sa.column("release_id", sa.Integer()),
    sa.column("actor_id", sa.String()),
    sa.column("action", sa.String()),
    sa.column("details", sa.JSON()),
    sa.column("created_at", storage.types.UTCDateTime(timezone=True)),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _create_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_GUARD:
            op.execute(statement)
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {verb} refused'); END"
        )


def _drop_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
        return
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{verb}")


def _chain_existing() -> None:
    bind = op.get_bind()
    teams = [row[0] for row in bind.execute(sa.select(events.c.team_id).distinct().order_by(events.c.team_id))]
    update = (
        sa.update(events)
        .where(events.c.id == sa.bindparam("event_id"))
        .values(prev_hash=sa.bindparam("new_prev"), hash=sa.bindparam("new_hash"))
    )
    for team_id in teams:
        head, after = audit_chain.GENESIS, 0
        while True:
            page = [
                dict(row._mapping)
                for row in bind.execute(
                    sa.select(events)
                    .where(events.c.team_id == team_id, events.c.id > after)
                    .order_by(events.c.id)
                    .limit(PAGE)
                )
            ]
            if not page:
                break
            head = audit_chain.seal(page, head)
            bind.execute(
                update,
                [{"event_id": e["id"], "new_prev": e["prev_hash"], "new_hash": e["hash"]} for e in page],
            )
            after = page[-1]["id"]


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    _drop_guard()
    _chain_existing()
    _create_guard()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CHAIN_HEAD_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_chain_head(text, integer)")
    _drop_guard()
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    _create_guard()
