"""Editing a release's scope (summary, changes, rollback plan, risk, and a commit it did not have yet): a new thing
to approve. Approvals start over, and whoever edited may not approve it."""

from bot.domain import commands
from bot.domain.errors import InvalidTransition
from bot.domain.lifecycle import OPEN
from bot.domain.permissions import Permission
from bot.domain.scope import LABELS
from bot.services.approvals import approvals
from bot.services.kernel import lookup, refusals, release_card
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.releases import commits
from storage.models import Release
from storage.repositories import audit


async def edit(ctx: ServiceContext, actor: Actor, command: commands.Edit) -> tuple[Release, list[str]]:
    """Returns the release and the approvers whose approval no longer counts."""
    members = await ctx.members(actor.team_id)
    async with refusals.audited(ctx, actor, "edit", release=command.ref), ctx.db.transaction() as session:
        release = await lookup.owned_release(session, ctx, actor, command.ref, members, action=Permission.EDIT)
        if release.status not in OPEN:
            raise InvalidTransition(
                "{ref} is {status}, so it can no longer be edited.", ref=release.ref, status=release.status.label
            )
        if command.field == "commit_sha":  # recorded once: only a release without one may be given one
            commits.refuse_change(release, command.text)
        if getattr(release, command.field) == command.text:
            return release, []
        setattr(release, command.field, command.text)
        what = LABELS[command.field]
        audit.record(
            session,
            release,
            actor.user_id,
            "edited",
            field=what,
            text=command.text[:300],
            **approvals.mark_scope_changed(release, actor.user_id),
        )
        invalidated = await approvals.restart(session, ctx, release, actor, what, members)
        if not invalidated:
            release_card.thread(session, release, "thread_edited", actor=actor.user_id, what=what)
    ctx.kick()
    return release, invalidated
