"""The one way a release changes. Every status change goes through `transition` (validated against the lifecycle
table, audited, versioned, stamped with the service clock, shown on the card, followed by the lifecycle hooks);
every other change the release message must show goes through `touch`. Both run in the caller's transaction."""

from collections.abc import Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.approval_policy import Decision
from bot.domain.lifecycle import Event, next_status
from bot.domain.policy import Members
from bot.services.kernel import lifecycle_hooks, release_card
from bot.services.kernel.context import ServiceContext
from storage.models import Release
from storage.repositories import audit


async def touch(
    session: AsyncSession,
    ctx: ServiceContext,
    release: Release,
    members: Members,
    *,
    decisions: Sequence[Decision] | None = None,
) -> None:
    """The release changed in place (an approval, a sign-off, an edit): a new version, and the card shows it.
    `decisions`: the release's active decisions, when the caller has them in hand (one read fewer)."""
    release.row_version += 1
    release.updated_at = ctx.now()
    session.add(release)
    await release_card.refresh(
        session,
        ctx.policy,
        release,
        members,
        decisions=decisions,
        commit_url=release_card.commit_url(ctx.policy, ctx.settings.shipmate_github_api_url, release),
    )
    await lifecycle_hooks.after_change(session, ctx, release)


async def transition(
    session: AsyncSession,
    ctx: ServiceContext,
    release: Release,
    event: Event,
    *,
    actor_id: str,
    members: Members,
    decisions: Sequence[Decision] | None = None,
    **details: Any,
) -> bool:
    """Move `release` by `event` (refused with `InvalidTransition` when the table has no such move), then audit,
    version and show it, and run the lifecycle hooks. Returns whether the status changed: some events keep it
    (a deployment to an earlier environment of a released release)."""
    before = release.status
    after = next_status(before, event, ref=release.ref)
    if after is not before:
        release.status = after
        audit.record(
            session,
            release,
            actor_id,
            "status",
            **{"from": before.value, "to": after.value, "event": event.value},
            **details,
        )
    await touch(session, ctx, release, members, decisions=decisions)
    if after is not before:
        await lifecycle_hooks.after_status_change(session, ctx, release, before)
    return after is not before
