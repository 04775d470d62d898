"""Editing a release's scope. A new summary or list of changes is a new thing to approve: approvals start over."""

from bot.domain import commands
from bot.domain.errors import InvalidTransition
from bot.domain.lifecycle import OPEN
from bot.services import approvals, lookup, release_card, release_state
from bot.services.context import Actor, ServiceContext
from storage.models import Release
from storage.repositories import audit

LABELS = {"summary": "summary", "changes": "list of changes", "rollback_plan": "rollback plan"}
SCOPE = frozenset({"summary", "changes"})  # the rollback plan is how, not what: approvals stand


async def edit(ctx: ServiceContext, actor: Actor, command: commands.Edit) -> tuple[Release, list[str]]:
    """Returns the release and the approvers whose approval no longer counts."""
    members = await ctx.members(actor.team_id)
    async with ctx.db.transaction() as session:
        release = await lookup.owned_release(session, ctx, actor, command.ref, members, doing="edit {ref}")
        if release.status not in OPEN:
            raise InvalidTransition(
                "{ref} is {status}, so it can no longer be edited.", ref=release.ref, status=release.status.label
            )
        if getattr(release, command.field) == command.text:
            return release, []
        setattr(release, command.field, command.text)
        what = LABELS[command.field]
        audit.record(
            session=session,
            release=release,
            actor_id=actor.user_id,
            action="edited",
            field=what,
            text=command.text[:300],
        )
        invalidated: list[str] = []
        if command.field in SCOPE:
            invalidated = await approvals.restart(session, ctx, release, actor, what, members)
        else:
            await release_state.touch(session, ctx, release, members)
        if not invalidated:
            release_card.thread(session, release, "thread_edited", actor=actor.user_id, what=what)
    ctx.kick()
    return release, invalidated
