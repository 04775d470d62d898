"""Refusals of privileged actions are audited. The refused use case's transaction rolls back (and an audit row
written inside it with it), so the refusal is recorded afterwards, in a small transaction of its own."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.errors import NotAllowed
from bot.domain.validation import ReleaseRef
from bot.services.kernel.context import Actor, ServiceContext
from storage.repositories import audit
from storage.repositories import releases as releases_repo

log = logging.getLogger(__name__)

REFUSED = "refused"  # the audit action; `details.action` says what was refused


@dataclass
class Subject:
    """What the refused action was about; the use case may name the release once it knows it."""

    release: ReleaseRef | int | None = None


@asynccontextmanager
async def audited(
    ctx: ServiceContext, actor: Actor, action: str, *, release: ReleaseRef | int | None = None, **details: Any
) -> AsyncIterator[Subject]:
    """Around a privileged use case: a `NotAllowed` raised inside is recorded (who, what, why), then re-raised."""
    subject = Subject(release)
    try:
        yield subject
    except NotAllowed as refusal:
        await record(ctx, actor, action, refusal, release=subject.release, **details)
        raise


async def record(
    ctx: ServiceContext,
    actor: Actor,
    action: str,
    refusal: NotAllowed,
    *,
    release: ReleaseRef | int | None = None,
    **details: Any,
) -> None:
    try:
        async with ctx.db.transaction() as session:
            release_id = await _release_id(session, actor.team_id, release)
            audit.append(
                session,
                actor.team_id,
                actor.user_id,
                REFUSED,
                release_id=release_id,
                details={**details, "action": action, "reason": refusal.plain},
            )
    except Exception:  # the person still hears the refusal; the log keeps what the audit could not
        log.exception("could not audit a refused %s by %s", action, actor.user_id)


async def _release_id(session: AsyncSession, team_id: str, release: ReleaseRef | int | None) -> int | None:
    if release is None:
        return None
    if isinstance(release, int):
        found = await releases_repo.get_by_id(session=session, team_id=team_id, release_id=release)
    else:
        found = await releases_repo.get(
            session=session, team_id=team_id, service=release.service, version=release.version
        )
    return found.id if found is not None else None
