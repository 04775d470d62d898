"""`/release notes <ref>`: a release's full notes, for the person who asked, and "Post to channel" for its proposer
and release managers (the same words, posted where the button was clicked)."""

from dataclasses import dataclass

from bot.domain import permissions, release_notes
from bot.domain.errors import InvalidInput, NotFound
from bot.domain.message import Code, Message, Strong
from bot.domain.permissions import Permission
from bot.domain.policy import Members
from bot.domain.release_notes import Notes
from bot.domain.validation import ReleaseRef
from bot.render import render
from bot.services.kernel import lookup
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.releases.notes import target_environment
from storage.models import Release
from storage.repositories import outbox
from storage.repositories import release_notes as notes_repo


@dataclass(frozen=True)
class NotesView:
    release: Release
    notes: Notes
    text: str  # Markdown, whole
    pieces: list[str]  # the Markdown in pieces a Slack section holds
    left_out: int  # lines that did not fit
    summary: Message
    may_post: bool


def _missing(ctx: ServiceContext, release: Release) -> NotFound:
    """Why a release has no notes yet, and what to do about it."""
    if not ctx.policy.repository(release.service):
        return NotFound(
            "{ref} has no notes: its service has no `github_repository` in the policy "
            '(`[services.{service}] github_repository = "owner/repo"`).',
            ref=Strong(release.ref),
            service=release.service,
        )
    if not release.commit_sha:
        return NotFound(
            "{ref} has no notes yet: its commit is not known. Set it with {fix}.",
            ref=Strong(release.ref),
            fix=Code(f"/release edit {release.ref} commit <sha>", 100),
        )
    return NotFound(
        "{ref}'s notes are being read from GitHub (compared with what is live in {env}); try again in a minute.",
        ref=Strong(release.ref),
        env=target_environment(ctx),
    )


def _may_post(ctx: ServiceContext, actor: Actor, release: Release, members: Members) -> None:
    permissions.check(
        ctx.policy,
        None,
        Permission.POST_NOTES,
        user_id=actor.user_id,
        members=members,
        ref=release.ref,
        proposer_id=release.proposer_id,
    )


async def show(ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int) -> NotesView:
    """The release's notes (refused plainly when there are none yet), and whether this person may post them."""
    members = await ctx.members(actor.team_id)
    async with ctx.db.quick_read() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=ref)
        notes = await notes_repo.notes_of(session=session, team_id=actor.team_id, release_id=release.pk)
    if notes is None:
        raise _missing(ctx, release)
    text = release_notes.markdown(release.ref, notes, release.changes)
    pieces, left_out = release_notes.chunks(text)
    try:
        _may_post(ctx, actor, release, members)
        may_post = True
    except permissions.Refused:
        may_post = False
    summary = release_notes.summary(notes)
    return NotesView(release, notes, text, pieces, left_out, summary, may_post)


async def post(ctx: ServiceContext, actor: Actor, release_id: int) -> Message:
    """Post the notes where the button was clicked, once per click (the outbox sends it)."""
    if not actor.channel_id:
        raise InvalidInput("Post to channel needs a channel; run `/release notes` in the channel to post to.")
    view = await show(ctx, actor, release_id)
    members = await ctx.members(actor.team_id)
    _may_post(ctx, actor, view.release, members)
    payload = render("release_notes", view=view, posted_by=actor.user_id, button=False)
    async with ctx.db.transaction() as session:
        outbox.enqueue(session=session, team_id=actor.team_id, kind="post", channel=actor.channel_id, payload=payload)
    return Message("Posted the notes of {ref} to this channel.", ref=Strong(view.release.ref))
