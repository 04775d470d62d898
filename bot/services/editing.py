"""Editing a release's scope. A new summary or list of changes is a new thing to approve: approvals start over."""

from bot.domain import grammar
from bot.domain.errors import InvalidTransition, NotAllowed
from bot.domain.lifecycle import Status
from bot.domain.mrkdwn import mention
from bot.services import approvals, lookup, release_card
from bot.services.context import Actor, ServiceContext
from bot.services.releases import is_release_manager
from storage.models import Release
from storage.repositories import audit
from storage.types import utcnow

EDITABLE = frozenset({Status.PROPOSED, Status.APPROVED, Status.IN_PROGRESS})
LABELS = {"summary": "summary", "changes": "list of changes", "rollback_plan": "rollback plan"}
SCOPE = frozenset({"summary", "changes"})  # the rollback plan is how, not what: approvals stand


async def edit(ctx: ServiceContext, actor: Actor, command: grammar.Edit) -> tuple[Release, list[str]]:
    """Returns the release and the approvers whose approval no longer counts."""
    members = await ctx.directory.members(actor.team_id, release_card.group_ids(ctx.policy))
    async with ctx.db.transaction() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=command.ref, lock=True)
        if actor.user_id != release.proposer_id and not is_release_manager(ctx, actor.user_id, members):
            raise NotAllowed(
                f"Only the proposer ({mention(release.proposer_id)}) or a release manager can edit {release.ref}."
            )
        status = Status(release.status)
        if status not in EDITABLE:
            raise InvalidTransition(f"{release.ref} is {status.label}, so it can no longer be edited.")
        if getattr(release, command.field) == command.text:
            return release, []
        setattr(release, command.field, command.text)
        release.row_version += 1
        release.updated_at = utcnow()
        what = LABELS[command.field]
        audit.append(
            session=session,
            team_id=actor.team_id,
            actor_id=actor.user_id,
            action="edited",
            release_id=release.id,
            details={"field": what, "text": command.text[:300]},
        )
        invalidated: list[str] = []
        if command.field in SCOPE:
            invalidated = await approvals.invalidate_for_scope_change(session, ctx, release, actor, what)
        if not invalidated:
            release_card.thread(session, release, "thread_edited", actor=actor.user_id, what=what)
        await release_card.refresh(session, ctx.policy, release, members)
    ctx.kick()
    return release, invalidated
