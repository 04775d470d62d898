"""Proposing, listing, showing, cancelling releases, and their audit history."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import change_classes
from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.lifecycle import Event, Status, next_status
from bot.domain.permissions import Permission
from bot.domain.policy import Members
from bot.domain.proposal import ProposeRequest
from bot.domain.validation import ReleaseRef
from bot.services.kernel import lookup, refusals, release_card, release_state, scope
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.kernel.hooks import Facts
from bot.services.releases import commits
from storage.models import Release
from storage.repositories import approvals as approvals_repo
from storage.repositories import audit
from storage.repositories import releases as releases_repo


async def propose(ctx: ServiceContext, actor: Actor, request: ProposeRequest) -> Release:
    request = change_classes.classify(ctx.policy, request).validated()
    channel = ctx.policy.slack.coordination_channel or actor.channel_id
    if not channel:
        raise InvalidInput("There is no coordination channel: set `[slack] coordination_channel` in the policy.")
    members = await ctx.members(actor.team_id)
    async with (
        refusals.audited(ctx, actor, "propose", release=ReleaseRef(request.service, request.version)),
        ctx.db.transaction() as session,
    ):
        release = await releases_repo.insert_new(
            session,
            team_id=actor.team_id,
            proposer_id=actor.user_id,
            channel_id=channel,
            scope_changed_by=actor.user_id,
            scope_authors=actor.user_id,
            created_at=ctx.now(),
            updated_at=ctx.now(),
            **request.columns(),
        )
        if release is None:  # its ref exists
            release = await _proposed_again(ctx, session, actor, request, members)
        else:
            change = ReleaseChange(
                Audit.PROPOSED,
                {
                    "summary": request.summary,
                    "risk": request.risk,
                    "commit": request.commit_sha,
                    **change_classes.audit_details(ctx.policy, release),
                    **scope.details(release),
                },
            )
            await release_state.apply(
                session, ctx, release, change, actor_id=actor.user_id, members=members, facts=Facts(new=True)
            )
    return release


async def _proposed_again(
    ctx: ServiceContext, session: AsyncSession, actor: Actor, request: ProposeRequest, members: Members
) -> Release:
    """The ref exists (a concurrent proposal's included): a rejected release comes back; any other is refused."""
    existing = await releases_repo.status_of(
        session=session, team_id=actor.team_id, service=request.service, version=request.version
    )
    ref = f"{request.service}@{request.version}"
    if existing is None:  # erased again meanwhile (a workspace's data, on request)
        raise Conflict("{ref} already exists; propose a new version.", field="version", ref=ref)
    existing_id, status = existing
    if status != Status.REJECTED:
        raise Conflict(
            "{ref} already exists ({status}); propose a new version, or see it with `/release show {ref}`.",
            field="version",
            ref=ref,
            status=status.label,
        )
    return await _repropose(ctx, session, actor, existing_id, request, members)


async def _repropose(
    ctx: ServiceContext,
    session: AsyncSession,
    actor: Actor,
    existing_id: int,
    request: ProposeRequest,
    members: Members,
) -> Release:
    """A rejected release comes back with its fixes: decisions start over, the same message is updated."""
    release = await lookup.owned_release(session, ctx, actor, existing_id, members, action=Permission.PROPOSE_AGAIN)
    if request.commit_sha:  # the same version is the same code: a re-proposal may name its commit, never another
        commits.refuse_change(release, request.commit_sha)
        release.commit_sha = request.commit_sha
    release.summary = request.summary
    for name in ("changes", "rollback_plan", "window_start", "window_end"):
        if getattr(request, name):
            setattr(release, name, getattr(request, name))
    if request.risk and request.risk != "medium":
        release.risk = request.risk
    await approvals_repo.invalidate(session=session, team_id=actor.team_id, release_id=release.pk)
    change = ReleaseChange(
        Audit.REPROPOSED,
        {"summary": request.summary, **scope.mark_changed(release, actor.user_id, new_proposal=True)},
        events=(Event.REPROPOSED,),
        thread=post("thread_reproposed", actor=actor.user_id),
    )
    await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
    return release


async def get(ctx: ServiceContext, actor: Actor, ref: ReleaseRef) -> Release:
    async with ctx.db.quick_read() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=ref)
    return release


@dataclass(frozen=True)
class ReleasePage:
    releases: Sequence[releases_repo.ReleaseLine]
    more: bool


async def list_recent(ctx: ServiceContext, actor: Actor, service: str | None, limit: int = 15) -> ReleasePage:
    """The newest `limit`; one row more tells whether older ones exist (no count: flat cost at any size)."""
    async with ctx.db.quick_rows() as session:  # plain rows on the bare connection
        releases = await releases_repo.recent_lines(
            session=session, team_id=actor.team_id, service=service, limit=limit + 1
        )
    return ReleasePage(releases[:limit], more=len(releases) > limit)


async def card(ctx: ServiceContext, actor: Actor, ref: ReleaseRef) -> release_card.CardView:
    """The release as its message shows it, for `/release show`."""
    members = await ctx.members(actor.team_id)
    team_id = actor.team_id
    async with ctx.db.quick_rows() as connection:  # plain rows: a read builds no ORM object
        release, decided, deployed, requests = await lookup.shown_release(connection, team_id=team_id, ref=ref)
        notes = await release_card.brief_of(connection, ctx.policy, release)
    return release_card.build_card(
        ctx.policy,
        release,
        decided,
        deployed,
        members,
        requests,
        commit_url=commits.url_of(ctx, release),
        notes=notes,
    )


@dataclass(frozen=True)
class History:
    release: Release
    events: Sequence[audit.Entry]  # one page, oldest first
    page: int  # 1: the newest events; each next page goes further back
    pages: int
    total: int  # events in the whole trail
    per_page: int

    @property
    def newest(self) -> int:
        """Where this page's newest event stands in the trail, counting from 1 (the oldest event)."""
        return self.total - (self.page - 1) * self.per_page

    @property
    def oldest(self) -> int:
        return self.newest - len(self.events) + 1


async def history(ctx: ServiceContext, actor: Actor, ref: ReleaseRef, *, page: int, per_page: int) -> History:
    """Page `page` of a release's audit trail, `per_page` events a page counted back from the newest. The trail is
    counted once (not at all for a first page that holds it whole), and a page past the end reads no events."""
    async with ctx.db.quick_read() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=ref)
        team_id, release_id = actor.team_id, release.pk
        events: Sequence[audit.Entry] = []
        if page == 1:
            events = await audit.lines_for_release(
                session=session, team_id=team_id, release_id=release_id, limit=per_page
            )
        if page == 1 and len(events) < per_page:  # the whole trail
            total = len(events)
        else:
            total = await audit.count_for_release(session=session, team_id=team_id, release_id=release_id)
        pages = max(1, math.ceil(total / per_page))
        if page > pages and pages == 1:
            raise NotFound("{ref} has only one page of history: `/release history {ref}`.", ref=release.ref)
        if page > pages:
            raise NotFound(
                "{ref} has {pages} pages of history ({per_page} events a page): page 1 is the newest, {pages} the "
                "oldest (`/release history {ref} {pages}`).",
                ref=release.ref,
                pages=pages,
                per_page=per_page,
            )
        if page > 1:
            events = await audit.lines_for_release(
                session=session, team_id=team_id, release_id=release_id, limit=per_page, offset=(page - 1) * per_page
            )
    return History(release, events, page, pages, total, per_page)


async def cancel(ctx: ServiceContext, actor: Actor, ref: ReleaseRef) -> Release:
    members = await ctx.members(actor.team_id)
    async with refusals.audited(ctx, actor, "cancel", release=ref), ctx.db.transaction() as session:
        release = await lookup.owned_release(session, ctx, actor, ref, members, action=Permission.CANCEL)
        next_status(release.status, Event.CANCELLED, ref=release.ref)  # refused before anything is written
        change = ReleaseChange(
            Audit.CANCELLED, events=(Event.CANCELLED,), thread=post("thread_cancelled", actor=actor.user_id)
        )
        await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
    return release
