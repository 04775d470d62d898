"""The one way a release changes. A use case decides a `ReleaseChange` and `apply` writes everything it owes in the
caller's transaction: the audit event, a new scope's approvals starting over, the thread line, the stakeholder
news (channels and subscribers, looked up once), the status (`transition`: validated against the lifecycle table,
audited, versioned, stamped with the service clock) or else a `touch` (the card shows the change), and the
follow-ups features attach to it (`hooks`)."""

from collections.abc import Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import release_notes
from bot.domain.approval_policy import ApprovalState, Decision
from bot.domain.change import Audit, Post, ReleaseChange
from bot.domain.lifecycle import Event, Status, can, next_status
from bot.domain.message import Message
from bot.domain.policy import Members
from bot.render import render, render_text
from bot.services.kernel import release_card, scope
from bot.services.kernel.change_feed import release_key
from bot.services.kernel.context import ServiceContext
from bot.services.kernel.hooks import HOOKS, Facts
from storage.models import Release
from storage.repositories import audit, subscriptions


async def apply(
    session: AsyncSession,
    ctx: ServiceContext,
    release: Release,
    change: ReleaseChange,
    *,
    actor_id: str,
    members: Members,
    facts: Facts | None = None,
    decisions: Sequence[Decision] | None = None,
) -> list[str]:
    """Write `change` to `release` (locked by the caller). `facts` go to the follow-ups (the deployment, the
    approval states the change was decided with); `decisions`: the release's active ones, when in hand. Returns the
    approvers whose approval a scope change invalidated."""
    facts = facts or Facts()
    details = dict(change.details)
    if change.scope:
        details |= scope.mark_changed(release, actor_id)
    if change.action is not None:
        audit.record(session, release, actor_id, change.action, **details)
    told: list[str] = []
    if change.scope:
        told = await scope.invalidate_approvals(session, release, actor_id, change.scope)
        decisions = None if told else decisions
    if told:
        release_card.thread(session, release, "thread_scope_changed", actor=actor_id, what=change.scope, approvers=told)
    if change.thread is not None and (change.keep_thread or not told):
        _thread(session, release, change.thread)
    if change.stakeholders is not None:
        await _stakeholders(session, ctx, release, change.stakeholders)
    moved = False
    for event in change.events or ((Event.SCOPE_CHANGED,) if told else ()):
        if can(release.status, event):  # each in turn: the table may allow the next only after the first
            await transition(session, ctx, release, event, actor_id=actor_id, members=members, facts=facts)
            moved = True
    if not moved and change.card:
        await touch(session, ctx, release, members, decisions=decisions, states=facts.states, new=facts.new)
    if change.action is not None:
        await HOOKS.applied(session, ctx, release, change.action, facts)
    return told


async def say(session: AsyncSession, ctx: ServiceContext, release: Release, line: Post) -> None:
    """News that changes nothing about the release (a reminder, a clash with a freeze): a line in its thread."""
    await apply(session, ctx, release, ReleaseChange(None, thread=line, card=False), actor_id="shipmate", members={})


def _thread(session: AsyncSession, release: Release, line: Post) -> None:
    if line.blocks:
        release_card.thread_blocks(session, release, render(line.template, release=release, **line.context))
    else:
        release_card.thread(session, release, line.template, **line.context)


async def _stakeholders(session: AsyncSession, ctx: ServiceContext, release: Release, news: Post) -> None:
    followers: Sequence[str] = ()
    if news.subscribers:
        followers = await subscriptions.subscribers(session=session, team_id=release.team_id, service=release.service)
    context = {"contents": await _contents(session, ctx, release), **news.context}
    payload = (
        render(news.template, release=release, **context)
        if news.blocks
        else render("message", text=render_text(news.template, release=release, **context), context=None)
    )
    release_card.stakeholders(session, ctx.policy, release, payload, subscribers=followers)


async def _contents(session: AsyncSession, ctx: ServiceContext, release: Release) -> Message | None:
    """The one line of what a release changes (its computed notes), for stakeholder news."""
    notes = await release_card.brief_of(session, ctx.policy, release)
    return release_notes.summary(notes) if notes is not None else None


async def touch(
    session: AsyncSession,
    ctx: ServiceContext,
    release: Release,
    members: Members,
    *,
    decisions: Sequence[Decision] | None = None,
    states: Sequence[ApprovalState] | None = None,
    new: bool = False,
    status: Status | None = None,
) -> None:
    """The release changed in place (an approval, a sign-off, an edit): a new version, and the card shows it.
    `decisions` / `states`: the release's active decisions and the approval states decided from them, when the
    caller has them in hand (read and decided once per change); a `new` release has nothing to look up and
    nothing waiting on it; `status`: the one `transition` moved it to, written with its version."""
    changed: dict[str, Any] = {}
    if not new:  # a new release is at its first version (its answer says "Proposed", not "Proposed again"),
        # and was updated when it was written: nothing to write again. Written with the card's reads.
        changed = {"row_version": release.row_version + 1, "updated_at": ctx.now()}
        if status is not None:
            changed["status"] = status
    api_url = ctx.settings.shipmate_github_api_url
    await release_card.refresh(
        session,
        ctx.policy,
        release,
        members,
        new=new,
        decisions=decisions,
        states=states,
        commit_url=release_card.commit_url(ctx.policy, api_url, release),
        now=ctx.now(),
        saved=changed,
    )
    if not new:  # whatever waits on this release's gates looks again once this commits
        ctx.changes.after_commit(session, release_key(release.pk))
        await HOOKS.changed(session, ctx, release, Facts())


async def transition(
    session: AsyncSession,
    ctx: ServiceContext,
    release: Release,
    event: Event,
    *,
    actor_id: str,
    members: Members,
    facts: Facts | None = None,
    **details: Any,
) -> bool:
    """Move `release` by `event` (refused with `InvalidTransition` when the table has no such move), then audit,
    version and show it, and run the follow-ups. Returns whether the status changed: some events keep it (a
    deployment to an earlier environment of a released release)."""
    facts = facts or Facts()
    before = release.status
    after = next_status(before, event, ref=release.ref)
    if after is not before:
        moved = {"from": before.value, "to": after.value, "event": event.value}
        if facts.deployment is not None and event in (Event.DEPLOYED, Event.DEPLOYED_FINAL):
            moved["deployment_id"] = facts.deployment.id  # type: ignore[assignment]
        audit.record(session, release, actor_id, Audit.STATUS, **moved, **details)
    await touch(session, ctx, release, members, states=facts.states, status=after if after is not before else None)
    if after is not before:
        await HOOKS.status_changed(session, ctx, release, Facts(before=before, states=facts.states))
    return after is not before
