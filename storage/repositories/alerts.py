"""Alerts received from Alertmanager or Grafana (scoped by team; the caller commits)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert

FIRING = "firing"
RESOLVED = "resolved"
# decisions that hold the release back until someone says "Not related"
BLOCKING = ("rollback_requested", "rolled_back", "rollback_needed")


async def add_once(*, session: AsyncSession, alert: Alert) -> Alert | None:
    """Insert the notification unless (team, fingerprint, startsAt, status) was received already; the row when this
    call inserted it, else None (a re-sent group, or another replica that got there first)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values: dict[str, Any] = alert.model_dump(exclude={"id"})
    statement = insert(Alert).values(**values).on_conflict_do_nothing().returning(col(Alert.id))
    new_id = (await session.exec(statement)).scalar_one_or_none()
    if new_id is None:
        return None
    alert.id = new_id
    return alert


async def get(*, session: AsyncSession, team_id: str, alert_id: int, lock: bool = False) -> Alert | None:
    query = select(Alert).where(Alert.team_id == team_id, Alert.id == alert_id)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def firing_of(*, session: AsyncSession, team_id: str, fingerprint: str, starts_at: datetime) -> Alert | None:
    query = select(Alert).where(
        Alert.team_id == team_id,
        Alert.fingerprint == fingerprint,
        Alert.starts_at == starts_at,
        Alert.status == FIRING,
    )
    return (await session.exec(query)).first()


async def is_resolved(*, session: AsyncSession, team_id: str, fingerprint: str, starts_at: datetime) -> bool:
    query = select(func.count()).where(
        col(Alert.team_id) == team_id,
        col(Alert.fingerprint) == fingerprint,
        col(Alert.starts_at) == starts_at,
        col(Alert.status) == RESOLVED,
    )
    return bool((await session.exec(query)).one())


async def decide(
    *,
    session: AsyncSession,
    team_id: str,
    alert_id: int,
    decision: str,
    by: str,
    at: datetime,
    reason: str = "",
    unless: Sequence[str] = (),
    rollback: bool = False,
) -> bool:
    """Record what was decided about a firing alert, unless it already carries one of `unless`; True when recorded.
    `rollback`: the decision asked for (or did) a rollback, counted in the metrics whatever is decided later."""
    values: dict[str, Any] = {"decision": decision, "decided_by": by, "decided_at": at, "reason": reason}
    if rollback:
        values["rollback_at"] = at
    statement = (
        update(Alert)
        .where(col(Alert.team_id) == team_id, col(Alert.id) == alert_id, col(Alert.decision).not_in(list(unless)))
        .values(**values)
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def counted_for(*, session: AsyncSession, team_id: str, release_id: int) -> Sequence[Alert]:
    """The firing alerts that counted against a release, oldest first."""
    query = (
        select(Alert)
        .where(Alert.team_id == team_id, Alert.release_id == release_id, Alert.status == FIRING)
        .order_by(col(Alert.starts_at), col(Alert.id))
    )
    return (await session.exec(query)).all()


async def resolved_keys(
    *, session: AsyncSession, team_id: str, alerts: Sequence[Alert]
) -> dict[tuple[str, datetime], datetime]:
    """For these firing alerts, the resolved ones: (fingerprint, startsAt) → when they ended."""
    if not alerts:
        return {}
    query = select(Alert).where(
        Alert.team_id == team_id,
        Alert.status == RESOLVED,
        col(Alert.fingerprint).in_({alert.fingerprint for alert in alerts}),
    )
    found = (await session.exec(query)).all()
    return {(row.fingerprint, row.starts_at): row.ends_at or row.created_at for row in found}


async def answered(
    *, session: AsyncSession, team_id: str, since: datetime, until: datetime, service: str | None = None
) -> tuple[int, int]:
    """(alert-driven rollbacks, "Not related" answers) in [since, until)."""
    rolled = select(func.count()).where(
        col(Alert.team_id) == team_id, col(Alert.rollback_at) >= since, col(Alert.rollback_at) < until
    )
    unrelated = select(func.count()).where(
        col(Alert.team_id) == team_id,
        col(Alert.decision) == "not_related",
        col(Alert.decided_at) >= since,
        col(Alert.decided_at) < until,
    )
    if service is not None:
        rolled = rolled.where(col(Alert.service) == service)
        unrelated = unrelated.where(col(Alert.service) == service)
    return int((await session.exec(rolled)).one()), int((await session.exec(unrelated)).one())
