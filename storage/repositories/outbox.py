"""The outbox: rows written with a state change, claimed and sent by a dispatcher, in order per release."""

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, true
from sqlalchemy.orm import aliased
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, Release
from storage.models.tables import table_of
from storage.repositories import appends
from storage.types import utcnow

OUTBOX = table_of(OutboxMessage)
# The CAB agenda: posted once per meeting (`fresh`), then updated in place; both keys are the sender's, not Slack's.
AGENDA = "agenda"
AGENDA_MEETING = "_agenda_meeting"
AGENDA_FRESH = "_agenda_fresh"


def enqueue(
    *,
    session: AsyncSession,
    team_id: str,
    kind: str,
    payload: dict[str, Any],
    channel: str | None = None,
    release_id: int | None = None,
) -> None:
    """A message owed, written with the transaction's other appends when it commits (sent only if it does)."""
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


def direct(*, session: AsyncSession, team_id: str, user_id: str, payload: dict[str, Any]) -> None:
    """A direct message to one person (Slack opens the DM when `channel` is a user id)."""
    enqueue(session=session, team_id=team_id, kind="dm", channel=user_id, payload=payload)


_SUPERSEDE_CARDS = (
    update(OutboxMessage)
    .where(
        col(OutboxMessage.team_id) == bindparam("team"),
        col(OutboxMessage.release_id) == bindparam("release"),
        col(OutboxMessage.kind) == "card",
        col(OutboxMessage.status) == "pending",
        col(OutboxMessage.claimed_until).is_(None),
    )
    .values(status="superseded")
    .execution_options(synchronize_session=False)  # an older card in this session is never sent from it
)


async def supersede_cards(*, session: AsyncSession, team_id: str, release_id: int) -> None:
    """A newer card makes older unsent ones pointless: the message shows the latest state only (one owed by this
    very transaction is never written)."""
    appends.drop(session, OUTBOX, lambda row: row["kind"] == "card" and row["release_id"] == release_id)
    await session.exec(_SUPERSEDE_CARDS, params={"team": team_id, "release": release_id})


async def has_due(*, session: AsyncSession, kinds: Collection[str]) -> bool:
    """Whether some row of `kinds` may be claimable now: a read, so an idle dispatcher takes no write lock."""
    now = utcnow()
    query = (
        select(OutboxMessage.id)
        .where(
            col(OutboxMessage.status) == "pending",
            col(OutboxMessage.next_attempt_at) <= now,
            (col(OutboxMessage.claimed_until).is_(None)) | (col(OutboxMessage.claimed_until) < now),
            col(OutboxMessage.kind).in_(kinds),
        )
        .limit(1)
    )
    return (await session.exec(query)).first() is not None


FAIR_TEAMS = 50  # workspaces with messages due that one claim shares its batch between


async def claim(
    *, session: AsyncSession, limit: int, lease: timedelta, kinds: Collection[str] | None = None
) -> Sequence[OutboxMessage]:
    """Atomically take up to `limit` due rows (of `kinds`, None: any) for `lease`, stamped with a fresh claim token
    that every later write about them checks. Other processes skip what is taken."""
    now = utcnow()
    token = uuid.uuid4().hex
    earlier = aliased(OutboxMessage)
    # A release's messages go out in order across processes: none is taken while an older one it must follow is
    # unsent. Thread lines follow everything before them (the card above all); a card follows only older cards
    # (one in flight elsewhere), never thread lines, which themselves wait for a posted card.
    waiting_behind = (
        select(earlier.id)
        .where(
            col(earlier.release_id) == col(OutboxMessage.release_id),
            col(earlier.status) == "pending",
            col(earlier.id) < col(OutboxMessage.id),
            (col(OutboxMessage.kind) != "card") | (col(earlier.kind) == "card"),
        )
        .exists()
    )
    claimable = (
        col(OutboxMessage.status) == "pending",
        col(OutboxMessage.next_attempt_at) <= now,
        (col(OutboxMessage.claimed_until).is_(None)) | (col(OutboxMessage.claimed_until) < now),
        col(OutboxMessage.kind).in_(kinds) if kinds is not None else true(),
    )
    # Fair between workspaces: each workspace with messages due gets its share of the batch, so one workspace's
    # flood never holds up another's messages (one workspace, the usual case, takes the whole batch).
    teams = list(
        (await session.exec(select(OutboxMessage.team_id).where(*claimable).distinct().limit(FAIR_TEAMS))).all()
    )
    share = max(1, limit // max(1, len(teams)))
    ids: list[int] = []
    for team in teams if len(teams) > 1 else [None]:
        due = (
            select(OutboxMessage.id)
            .where(*claimable, ~waiting_behind, col(OutboxMessage.team_id) == team if team is not None else true())
            .order_by(col(OutboxMessage.id))
            .limit(share if team is not None else limit)
            .with_for_update(skip_locked=True)
        )
        ids.extend(id_ for id_ in (await session.exec(due)).all() if id_ is not None)
    if not ids:
        return []
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).values(claimed_until=now + lease, claim_token=token)
    )
    rows = await session.exec(
        select(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).order_by(col(OutboxMessage.id))
    )
    return rows.all()


def _held(message_id: int, token: str | None) -> Any:
    """The row while the claim stamped `token` still owns it (another process's claim has another token)."""
    return (
        (col(OutboxMessage.id) == message_id)
        & (col(OutboxMessage.claim_token) == token)
        & (col(OutboxMessage.status) == "pending")
    )


async def _write_held(session: AsyncSession, message_id: int, token: str | None, values: dict[str, Any]) -> bool:
    result = await session.exec(
        update(OutboxMessage)
        .where(_held(message_id, token))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def hold(*, session: AsyncSession, message_id: int, token: str | None, lease: timedelta) -> bool:
    """Right before a send: is the claim still ours? If so it runs `lease` from now. False: another process
    claimed the row after our lease ran out (it sends it), or it is no longer pending; do not send it."""
    return await _write_held(session, message_id, token, {"claimed_until": utcnow() + lease})


async def mark_sent(*, session: AsyncSession, message_id: int, token: str | None, message_ts: str | None) -> bool:
    """False when the claim was no longer ours: the row is left to the process that holds it now."""
    values = {
        "status": "sent",
        "sent_at": utcnow(),
        "message_ts": message_ts,
        "claimed_until": None,
        "claim_token": None,
    }
    return await _write_held(session, message_id, token, values)


async def supersede(*, session: AsyncSession, message_id: int, token: str | None, error: str) -> bool:
    """A message that must not be sent any more (what it asked for was closed meanwhile)."""
    values = {"status": "superseded", "claimed_until": None, "claim_token": None, "last_error": error[:1000]}
    return await _write_held(session, message_id, token, values)


async def reschedule(
    *,
    session: AsyncSession,
    message_id: int,
    token: str | None,
    at: datetime,
    error: str,
    count_attempt: bool = True,
    dead: bool = False,
) -> bool:
    """Try again at `at` (or give up: `dead`); False when the claim was no longer ours and nothing changed."""
    values: dict[str, Any] = {
        "next_attempt_at": at,
        "claimed_until": None,
        "claim_token": None,
        "last_error": error[:1000],
        "status": "dead" if dead else "pending",
    }
    if count_attempt:
        values["attempts"] = col(OutboxMessage.attempts) + 1
    return await _write_held(session, message_id, token, values)


async def record_message_ts(*, session: AsyncSession, release_id: int, channel: str, message_ts: str) -> None:
    await session.exec(
        update(Release)
        .where(col(Release.id) == release_id, col(Release.message_ts).is_(None))
        .values(message_ts=message_ts, channel_id=channel)
    )


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


async def release_anchor(*, session: AsyncSession, release_id: int) -> tuple[str, str | None] | None:
    row = (await session.exec(select(Release.channel_id, Release.message_ts).where(Release.id == release_id))).first()
    return (row[0], row[1]) if row else None


async def next_due(*, session: AsyncSession) -> datetime | None:
    query = (
        select(OutboxMessage.next_attempt_at)
        .where(col(OutboxMessage.status) == "pending")
        .order_by(col(OutboxMessage.next_attempt_at))
        .limit(1)
    )
    return (await session.exec(query)).first()


async def release_claims(*, session: AsyncSession, message_ids: Iterable[int], token: str | None) -> int:
    """A stopping process hands back messages it claimed and has not tried, at once instead of after the lease.
    Only while the claim is still its own: `token` stamped that claim (a later claim has another)."""
    ids = list(message_ids)
    if not ids or token is None:
        return 0
    result = await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(ids),
            col(OutboxMessage.status) == "pending",
            col(OutboxMessage.claim_token) == token,
        )
        .values(claimed_until=None, claim_token=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


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
