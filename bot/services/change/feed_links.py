"""The calendar feed: one secret link per workspace (stored only as a hash), and what the feed holds."""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.change import Audit
from bot.domain.errors import NotAllowed, NotFound
from bot.domain.freezes import FreezeWindow
from bot.domain.lifecycle import OPEN, Status
from bot.domain.permissions import Permission
from bot.domain.windows import PlannedWindow
from bot.services.change.conflicts import planned
from bot.services.change.freeze_lookup import windows_between
from bot.services.change.freezes import require
from bot.services.kernel.context import Actor, ServiceContext
from storage.models import CalendarToken, DeployLock
from storage.repositories import audit
from storage.repositories import calendar_tokens as tokens_repo
from storage.repositories import locks as locks_repo
from storage.repositories import windows as windows_repo

FEED_PATH = "/calendar.ics"
FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=180)
# The feed is also a record: windows that went ahead stay on it; rejected and cancelled ones drop off.
FEED_STATUSES = OPEN | {Status.RELEASED, Status.ROLLED_BACK, Status.REVIEWED}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(ctx: ServiceContext, token: str) -> str:
    base = ctx.settings.shipmate_public_url.rstrip("/")
    return f"{base}{FEED_PATH}?token={token}"


async def create_link(ctx: ServiceContext, actor: Actor) -> str:
    """A new feed link for the workspace; the previous one stops working. Returns the URL (or path)."""
    await require(ctx, actor, Permission.CALENDAR_LINK)
    token = secrets.token_urlsafe(32)
    async with ctx.db.transaction() as session:
        revoked = await tokens_repo.revoke_all(session=session, team_id=actor.team_id)
        tokens_repo.add(
            session, CalendarToken(team_id=actor.team_id, token_hash=token_hash(token), created_by=actor.user_id)
        )
        audit.append(
            session, actor.team_id, actor.user_id, Audit.CALENDAR_LINK_CREATED, details={"revoked_previous": revoked}
        )
    return feed_url(ctx, token)


@dataclass(frozen=True)
class Feed:
    team_id: str
    windows: list[PlannedWindow]
    freezes: list[FreezeWindow]
    summaries: dict[int, str]  # release id → summary, for the event description
    generated_at: datetime
    locks: list[DeployLock] = field(default_factory=list)  # deploy locks: busy blocks while they are held


class Revoked(NotAllowed):
    """The link was valid once and has been replaced or revoked."""


async def feed(ctx: ServiceContext, token: str) -> Feed:
    """The workspace's windows and freezes from a month ago to half a year ahead, for the token's holder."""
    if not token or len(token) > 200:
        raise NotFound("No calendar link given.")
    now = ctx.now()
    start, end = now - FEED_PAST, now + FEED_AHEAD
    async with ctx.db.read() as session:
        row = await tokens_repo.by_hash(session=session, token_hash=token_hash(token))
        if row is None:
            raise NotFound("This calendar link is unknown.")
        if row.revoked_at is not None:
            raise Revoked("This calendar link was revoked; ask a release manager for the new one.")
        releases = await windows_repo.overlapping(
            session=session, team_id=row.team_id, start=start, end=end, statuses=FEED_STATUSES
        )
        freezes = await windows_between(session, ctx, team_id=row.team_id, start=start, end=end)
        locks = await locks_repo.overlapping(session=session, team_id=row.team_id, start=start, end=end)
    windows = [window for release in releases if (window := planned(ctx, release)) is not None]
    summaries = {release.pk: release.summary for release in releases}
    return Feed(row.team_id, windows, freezes, summaries, now, list(locks))
