"""A dispatcher's side of the outbox: which rows are due, claiming a batch, holding a claim, and closing rows (sent,
superseded, rescheduled, handed back). Every write about a claimed row checks the claim's token.

The statements are built once per shape (a dispatcher runs them for every batch, and building a statement costs
more than SQLite takes to run it); a batch is marked sent in one statement, not one per row.
"""

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Integer, Select, String, Update, bindparam, case, literal_column, true
from sqlalchemy.orm import aliased
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.db import Reader, Writer, rows_of
from storage.models import OutboxMessage
from storage.models.tables import RELEASES, select_fields, table_of
from storage.repositories.in_lists import in_values, values
from storage.repositories.loaded import loaded
from storage.types import utcnow

OUTBOX = table_of(OutboxMessage)

FAIR_TEAMS = 50  # workspaces with messages due that one claim shares its batch between


def _claimable(kind_count: int | None) -> tuple[Any, ...]:
    """Rows due now (`:now`), unclaimed or with a lapsed claim, of the `:kind_<i>` kinds (None: any kind)."""
    now: BindParameter[Any] = bindparam("now")
    return (  # the table's columns: `has_due` runs as a core statement
        OUTBOX.c.status == literal_column("'pending'"),  # written out: SQLite then knows `ix_outbox_due` covers it
        OUTBOX.c.next_attempt_at <= now,
        OUTBOX.c.claimed_until.is_(None) | (OUTBOX.c.claimed_until < now),
        in_values(OUTBOX.c.kind, "want_kind", kind_count) if kind_count is not None else true(),
    )


def _parameters(kinds: Collection[str] | None, **more: Any) -> dict[str, Any]:
    return {"now": utcnow(), **(values("want_kind", sorted(kinds)) if kinds is not None else {}), **more}


@cache
def _has_due(kind_count: int) -> Select[Any]:
    return select_fields(OUTBOX, ("id",)).where(*_claimable(kind_count)).limit(1)


async def has_due(*, session: Reader, kinds: Collection[str]) -> bool:
    """Whether some row of `kinds` may be claimable now: a read, so an idle dispatcher takes no write lock."""
    found = await (await rows_of(session)).execute(_has_due(len(kinds)), _parameters(kinds))
    return found.first() is not None


@cache
def _teams(kind_count: int | None) -> SelectOfScalar[str]:
    return select(OutboxMessage.team_id).where(*_claimable(kind_count)).distinct().limit(FAIR_TEAMS)


@cache
def _due(kind_count: int | None, by_team: bool) -> SelectOfScalar[Any]:
    """Up to `:limit` claimable ids (of `:team`), oldest first, none waiting behind an unsent one of its release."""
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
    team = col(OutboxMessage.team_id) == bindparam("team") if by_team else true()
    return (
        select(OutboxMessage.id)
        .where(*_claimable(kind_count), ~waiting_behind, team)
        .order_by(col(OutboxMessage.id))
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
        # The pending rows in order, read until the batch is full. Left to itself, SQLite's planner (without
        # statistics) reads every due row by `ix_outbox_pending` and sorts them: a claim's cost grew with the backlog.
        .with_hint(OutboxMessage, "INDEXED BY ix_outbox_due", dialect_name="sqlite")
    )


@cache
def _claim(kind_count: int | None, by_team: bool) -> Update:
    """Stamp the `_due` rows with the claim (`:until`, `:token`) and return them whole, in one statement."""
    due = _due(kind_count, by_team).correlate(None)  # its own scan of the table, not the updated row
    return (
        OUTBOX.update()
        .where(OUTBOX.c.id.in_(due))
        .values(claimed_until=bindparam("until"), claim_token=bindparam("token"))
        .returning(*OUTBOX.c)
    )


async def claim(
    *, session: Writer, limit: int, lease: timedelta, kinds: Collection[str] | None = None, fair: bool = True
) -> list[OutboxMessage]:
    """Atomically take up to `limit` due rows (of `kinds`, None: any) for `lease`, stamped with a fresh claim token
    that every later write about them checks; oldest first. Other processes skip what is taken.

    `fair`: between workspaces. Each workspace with messages due gets its share of the batch, so one workspace's
    flood never holds up another's messages (one workspace, the usual case, takes the whole batch). Without it the
    oldest rows are taken, whoever's: for a claim that expects no backlog (the last one took all there was)."""
    kind_count = len(kinds) if kinds is not None else None
    rows = await rows_of(session)
    teams = list((await rows.execute(_teams(kind_count), _parameters(kinds))).scalars().all()) if fair else []
    share = max(1, limit // max(1, len(teams)))
    stamp = {"until": utcnow() + lease, "token": uuid.uuid4().hex}
    claimed: list[OutboxMessage] = []
    for team in teams if len(teams) > 1 else [None]:
        by_team = team is not None
        more = {"limit": share, "team": team} if by_team else {"limit": limit}
        found = await rows.execute(_claim(kind_count, by_team), _parameters(kinds, **stamp, **more))
        claimed.extend(loaded(OutboxMessage, row) for row in found.mappings().all())
    return sorted(claimed, key=lambda message: message.id or 0)


def _held(message_id: int, token: str | None) -> Any:
    """The row while the claim stamped `token` still owns it (another process's claim has another token)."""
    return (
        (col(OutboxMessage.id) == message_id)
        & (col(OutboxMessage.claim_token) == token)
        & (col(OutboxMessage.status) == "pending")
    )


async def _write_held(session: Writer, message_id: int, token: str | None, values: dict[str, Any]) -> bool:
    statement = update(OutboxMessage).where(_held(message_id, token)).values(**values)
    return bool((await (await rows_of(session)).execute(statement)).rowcount)


async def hold(*, session: Writer, message_id: int, token: str | None, lease: timedelta) -> bool:
    """Right before a send: is the claim still ours? If so it runs `lease` from now. False: another process
    claimed the row after our lease ran out (it sends it), or it is no longer pending; do not send it."""
    return await _write_held(session, message_id, token, {"claimed_until": utcnow() + lease})


async def mark_sent(*, session: Writer, message_id: int, token: str | None, message_ts: str | None) -> bool:
    """False when the claim was no longer ours: the row is left to the process that holds it now."""
    return bool(await mark_all_sent(session=session, token=token, sent={message_id: message_ts}))


@cache
def _mark_sent(count: int) -> Update:
    ids: list[BindParameter[Any]] = [bindparam(f"row_id_{i}") for i in range(count)]
    stamps = case(*[(col(OutboxMessage.id) == ids[i], bindparam(f"ts_{i}", type_=String)) for i in range(count)])
    return (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(ids),
            col(OutboxMessage.claim_token) == bindparam("token"),
            col(OutboxMessage.status) == "pending",
        )
        .values(status="sent", sent_at=bindparam("now"), message_ts=stamps, claimed_until=None, claim_token=None)
        .returning(col(OutboxMessage.id))
        .execution_options(synchronize_session=False)
    )


async def mark_all_sent(*, session: Writer, token: str | None, sent: dict[int, str | None]) -> set[int]:
    """Mark rows of one claim sent (with each one's Slack ts), in one statement; the ids that were still this
    claim's (a row another process claimed since is left to it)."""
    if not sent or token is None:
        return set()
    parameters: dict[str, Any] = {"token": token, "now": utcnow()}
    for i, (message_id, ts) in enumerate(sent.items()):
        parameters[f"row_id_{i}"], parameters[f"ts_{i}"] = message_id, ts
    return set((await (await rows_of(session)).execute(_mark_sent(len(sent)), parameters)).scalars().all())


_FIRST_POST = (
    RELEASES.update()
    .where(RELEASES.c.id == bindparam("release"), RELEASES.c.message_ts.is_(None))
    .values(message_ts=bindparam("ts"))
)


async def record_first_posts(*, session: Writer, posted: dict[int, str]) -> None:
    """Where each release's card now is (release id → Slack ts): later cards update it, thread lines reply to it."""
    if posted:
        await (await rows_of(session)).execute(_FIRST_POST, [{"release": r, "ts": ts} for r, ts in posted.items()])


_ANCHOR = select_fields(RELEASES, ("channel_id", "message_ts")).where(RELEASES.c.id == bindparam("release"))


async def release_anchor(*, session: Reader, release_id: int) -> tuple[str, str | None] | None:
    """The channel of a release's card, and its Slack ts once posted."""
    row = (await (await rows_of(session)).execute(_ANCHOR, {"release": release_id})).first()
    return (row[0], row[1]) if row else None


@cache
def _anchors(count: int) -> Select[Any]:
    return select_fields(RELEASES, ("id", "channel_id", "message_ts")).where(in_values(RELEASES.c.id, "release", count))


async def release_anchors(*, session: Reader, release_ids: Iterable[int]) -> dict[int, tuple[str, str | None]]:
    """`release_anchor` of several releases in one statement (release id → channel, ts)."""
    ids = sorted(set(release_ids))
    found = await (await rows_of(session)).execute(_anchors(len(ids)), values("release", ids))
    return {row[0]: (row[1], row[2]) for row in found.all()}


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
