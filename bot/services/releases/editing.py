"""Editing a release's scope (summary, changes, rollback plan, risk, and a commit it did not have yet): a new thing
to approve. Approvals start over, and whoever edited may not approve it."""

from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.grammar import releases as commands
from bot.domain.lifecycle import Act, require
from bot.domain.permissions import Permission
from bot.domain.scope import LABELS
from bot.services.kernel import lookup, refusals, release_state
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.releases import commits
from storage.models import Release


async def edit(ctx: ServiceContext, actor: Actor, command: commands.Edit) -> tuple[Release, list[str]]:
    """Returns the release and the approvers whose approval no longer counts."""
    members = await ctx.members(actor.team_id)
    async with refusals.audited(ctx, actor, "edit", release=command.ref), ctx.db.transaction() as session:
        release = await lookup.owned_release(session, ctx, actor, command.ref, members, action=Permission.EDIT)
        require(Act.EDIT, release.status, ref=release.ref)
        if command.field == "commit_sha":  # recorded once: only a release without one may be given one
            commits.refuse_change(release, command.text)
        if getattr(release, command.field) == command.text:
            return release, []
        setattr(release, command.field, command.text)
        what = LABELS[command.field]
        change = ReleaseChange(
            Audit.EDITED,
            {"field": what, "text": command.text[:300]},
            scope=what,
            thread=post("thread_edited", actor=actor.user_id, what=what),
        )
        invalidated = await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
    return release, invalidated
