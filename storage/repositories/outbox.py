"""The outbox: rows written with a state change, claimed and sent by a dispatcher (`outbox_claims.py`), in order per
release."""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import ENQUEUED, rows_of
from storage.models import OutboxMessage
from storage.models.tables import table_of
from storage.repositories import appends
from storage.types import utcnow
from storage.write_tx import after_commit

log = logging.getLogger(__name__)
OUTBOX = table_of(OutboxMessage)
# The CAB agenda: posted once per meeting (`fresh`), then updated in place; both keys are the sender's, not Slack's.
AGENDA = "agenda"
AGENDA_MEETING = "_agenda_meeting"
AGENDA_FRESH = "_agenda_fresh"
_KINDS = "shipmate_enqueued_kinds"  # a session's info: the kinds of the messages it enqueued


def enqueue(
    *,
    session: AsyncSession,
    team_id: str,
    kind: str,
    payload: dict[str, Any],
    channel: str | None = None,
    release_id: int | None = None,
) -> None:
    """A message owed, written with the transaction's other appends when it commits (sent only if it does); its
    dispatcher is woken right after the commit (`Database.on_enqueued`)."""
    now = utcnow()
    row = {
        "team_id": team_id,
        "release_id": release_id,
        "kind": str(kind),
        "channel": channel,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }
    appends.add(session, OUTBOX, row)
    kinds: set[str] | None = session.info.get(_KINDS)
    if kinds is None:
        kinds = session.info[_KINDS] = set()
    kinds.add(str(kind))


# One hook for every write transaction, registered once: one that enqueued nothing has nothing to do here.
@after_commit
def _wake(sync_session: Any) -> None:
    kinds: set[str] | None = sync_session.info.pop(_KINDS, None)
    if kinds:
        for listener in sync_session.info.get(ENQUEUED, ()):
            try:
                listener(kinds)
            except Exception:  # the commit happened: a listener's bug must not fail the change; the poll sends
                log.exception("outbox listener failed")


def direct(*, session: AsyncSession, team_id: str, user_id: str, payload: dict[str, Any]) -> None:
    """A direct message to one person (Slack opens the DM when `channel` is a user id)."""
    enqueue(session=session, team_id=team_id, kind="dm", channel=user_id, payload=payload)


SUPERSEDE_CARDS = (  # `:team`, `:release`
    OUTBOX.update()
    .where(
        OUTBOX.c.team_id == bindparam("team"),
        OUTBOX.c.release_id == bindparam("release"),
        OUTBOX.c.kind == "card",
        OUTBOX.c.status == "pending",
        OUTBOX.c.claimed_until.is_(None),
    )
    .values(status="superseded")
)


async def supersede_cards(*, session: AsyncSession, team_id: str, release_id: int) -> None:
    """A newer card makes older unsent ones pointless: the message shows the latest state only (one owed by this
    very transaction is never written)."""
    forget_cards(session, release_id)
    connection = await rows_of(session)  # core: outbox rows are only ever appended, never ORM objects
    await connection.execute(SUPERSEDE_CARDS, {"team": team_id, "release": release_id})


def forget_cards(session: AsyncSession, release_id: int) -> None:
    """The release's cards this transaction owes and has not written: a newer one replaces them."""
    appends.drop(session, OUTBOX, lambda row: row["kind"] == "card" and row["release_id"] == release_id)


async def agenda_ts(*, session: AsyncSession, team_id: str, channel: str, meeting: str) -> str | None:
    """The Slack ts of the agenda posted for `meeting` in `channel`, once it is sent."""
    rows = (
        await session.exec(
            select(OutboxMessage.message_ts, OutboxMessage.payload)
            .where(
                OutboxMessage.team_id == team_id,
                OutboxMessage.kind == AGENDA,
                OutboxMessage.channel == channel,
                OutboxMessage.status == "sent",
                col(OutboxMessage.message_ts).is_not(None),
            )
            .order_by(col(OutboxMessage.id).desc())
            .limit(20)
        )
    ).all()
    return next(
        (ts for ts, payload in rows if payload.get(AGENDA_MEETING) == meeting and payload.get(AGENDA_FRESH)), None
    )


@dataclass(frozen=True)
class Backlog:
    pending: int
    dead: int
    oldest_pending: datetime | None


async def backlog(*, session: AsyncSession) -> Backlog:
    """Every workspace's waiting and given-up messages, in one aggregate (for metrics)."""
    query = (
        select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
        .where(col(OutboxMessage.status).in_(("pending", "dead")))
        .group_by(col(OutboxMessage.status))
    )
    rows = {status: (int(count), oldest) for status, count, oldest in (await session.exec(query)).all()}
    pending, oldest = rows.get("pending", (0, None))
    return Backlog(pending=pending, dead=rows.get("dead", (0, None))[0], oldest_pending=oldest)


async def drop_team(*, session: AsyncSession, team_id: str, reason: str) -> dict[str, int]:
    """Every unsent row of a workspace, closed (a claimed one too: its claimer's hold then fails, so it is not
    sent); how many of each kind."""
    pending = (col(OutboxMessage.team_id) == team_id) & (col(OutboxMessage.status) == "pending")
    counts = await session.exec(
        select(OutboxMessage.kind, func.count()).where(pending).group_by(col(OutboxMessage.kind))
    )
    dropped = {str(kind): int(n) for kind, n in counts.all()}
    await session.exec(
        update(OutboxMessage)
        .where(pending)
        .values(status="superseded", last_error=reason[:1000], claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return dropped
