"""The reads of a change export: production deployments (joined with their releases) in keyset pages over the
(team_id, environment, created_at) index, and, for each page, what is known of its releases in one query per
table (approvals, regression sign-offs, the deployments' audit events, reviews, action items)."""

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ActionItem, AuditEvent, Review, Verification
from storage.models.tables import APPROVALS, DEPLOYMENTS, RELEASES, table_of

AUDIT, VERIFICATIONS = table_of(AuditEvent), table_of(Verification)
REVIEWS, ITEMS = table_of(Review), table_of(ActionItem)
Row = dict[str, Any]
D, R = DEPLOYMENTS, RELEASES

_JOINED = select(
        D.c.id, D.c.release_id, D.c.environment, D.c.service, D.c.version, D.c.actor_id, D.c.outcome, D.c.ci_url,
        D.c.commit_sha, D.c.created_at, D.c.rolled_back_at, D.c.rolled_back_by, D.c.rollback_reason,
        R.c.risk, R.c.proposer_id, R.c.commit_sha.label("release_commit"), R.c.channel_id, R.c.message_ts,
    ).join(R, R.c.id == D.c.release_id)  # fmt: skip
_CHANGES = (
    _JOINED.where(
        D.c.team_id == bindparam("team_id"),
        D.c.environment == bindparam("environment"),
        D.c.created_at >= bindparam("start"),
        D.c.created_at < bindparam("end"),
        D.c.id > bindparam("after", type_=Integer),
    )
    .order_by(D.c.id)
    .limit(bindparam("limit", type_=Integer))
)


async def changes(
    *, session: AsyncSession, team_id: str, environment: str, start: datetime, end: datetime, size: int = 1_000
) -> AsyncIterator[list[Row]]:
    """Deployments into `environment` in [start, end), oldest id first, `size` at a time."""
    connection = await session.connection()
    params: dict[str, Any] = {"team_id": team_id, "environment": environment, "start": start, "end": end}
    after = 0
    while True:
        result = await connection.execute(_CHANGES, {**params, "after": after, "limit": size})
        page = _dicts(result)
        if not page:
            return
        yield page
        after = page[-1]["id"]


async def changes_by_id(*, session: AsyncSession, team_id: str, ids: Sequence[int]) -> dict[int, Row]:
    """These deployments (as `changes` reads them), by id."""
    connection = await session.connection()
    query = _JOINED.where(D.c.team_id == team_id, D.c.id.in_(list(ids)))
    return {row["id"]: row for row in _dicts(await connection.execute(query))}


_APPROVAL_FIELDS = ("release_id", "environment", "user_id", "decision", "scope_hash", "created_at", "invalidated_at")
_VERIFICATION_FIELDS = ("id", "release_id", "environment", "user_id", "passed", "note", "created_at")


def _dicts(result: Any) -> list[Row]:
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result.all()]


async def _grouped(connection: AsyncConnection, query: Any, key: str) -> dict[Any, list[Row]]:
    grouped: dict[Any, list[Row]] = {}
    for values in _dicts(await connection.execute(query)):
        grouped.setdefault(values[key], []).append(values)
    return grouped


async def related(*, session: AsyncSession, team_id: str, page: Sequence[Row]) -> dict[int, dict[str, Any]]:
    """For each deployment of `page` (by id): `approvals` (in its environment), `verifications`, `deployed` (its
    audit event, or None), `review` (or None) and `items`, each read for the whole page at once."""
    connection = await session.connection()
    release_ids = sorted({change["release_id"] for change in page})
    approvals = await _grouped(
        connection,
        select(*(APPROVALS.c[name] for name in _APPROVAL_FIELDS)).where(
            APPROVALS.c.team_id == team_id,
            APPROVALS.c.release_id.in_(release_ids),
            APPROVALS.c.environment.in_(sorted({change["environment"] for change in page})),
            APPROVALS.c.decision == "approve",
        ),
        "release_id",
    )
    verifications = await _grouped(
        connection,
        select(*(VERIFICATIONS.c[name] for name in _VERIFICATION_FIELDS)).where(
            VERIFICATIONS.c.team_id == team_id, VERIFICATIONS.c.release_id.in_(release_ids)
        ),
        "release_id",
    )
    events = await _grouped(
        connection,
        select(AUDIT.c.id, AUDIT.c.release_id, AUDIT.c.actor_id, AUDIT.c.details, AUDIT.c.hash).where(
            AUDIT.c.team_id == team_id, AUDIT.c.release_id.in_(release_ids), AUDIT.c.action == "deployed"
        ),
        "release_id",
    )
    reviews = await _grouped(
        connection,
        select(REVIEWS).where(REVIEWS.c.team_id == team_id, REVIEWS.c.release_id.in_(release_ids)),
        "release_id",
    )
    items = await _grouped(
        connection, select(ITEMS).where(ITEMS.c.team_id == team_id, ITEMS.c.release_id.in_(release_ids)), "release_id"
    )
    found: dict[int, dict[str, Any]] = {}
    for change in page:
        release_id = change["release_id"]
        deployed = [e for e in events.get(release_id, []) if e["details"].get("deployment_id") == change["id"]]
        found[change["id"]] = {
            "approvals": [a for a in approvals.get(release_id, []) if a["environment"] == change["environment"]],
            "verifications": verifications.get(release_id, []),
            "deployed": deployed[0] if deployed else None,
            "review": next(iter(reviews.get(release_id, [])), None),
            "items": items.get(release_id, []),
        }
    return found
