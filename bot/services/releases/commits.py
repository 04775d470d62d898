"""A release is its commit. The commit is recorded once: given with the proposal, resolved from the release's tag
on GitHub (a durable job: a slow, rate-limited or down GitHub never delays the proposal), or set once by a person.
Recording it is a scope change (approvals given without it start over); naming another commit afterwards is
refused (`CommitMismatch`): other code is another version."""

from collections.abc import Sequence
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.commits import CommitMismatch, require_same
from bot.domain.errors import CodeHostUnavailable
from bot.domain.lifecycle import CLOSED
from bot.domain.pipeline import JobKind
from bot.domain.policy import Members
from bot.domain.scope import LABELS
from bot.services.kernel import lookup, release_card, release_state
from bot.services.kernel.card_sources import Shown
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.kernel.hooks import HOOKS, Facts
from bot.services.kernel.jobs import runs
from storage.models import Release, ScheduledJob
from storage.repositories import jobs
from storage.repositories import releases as releases_repo

SHIPMATE = "shipmate"  # the actor of what Shipmate learns by itself
RETRY = timedelta(seconds=60)  # GitHub unreachable and silent about when to come back


def url_of(ctx: ServiceContext, release: Shown) -> str | None:
    """The commit's page on GitHub, when the release has a commit and its service a repository."""
    return release_card.commit_url(ctx.policy, ctx.settings.shipmate_github_api_url, release)


def tags_of(version: str) -> list[str]:
    """The tags a release's version may carry, in the order they are tried: `v2.4.0`, then `2.4.0`."""
    return [version] if version.startswith("v") else [f"v{version}", version]


async def plan_resolution(session: AsyncSession, ctx: ServiceContext, release: Release) -> None:
    """A release without a commit whose service has a GitHub repository: look its tag up, now, in the background."""
    if release.commit_sha or not ctx.policy.repository(release.service):
        return
    await jobs.ensure(
        session=session,
        team_id=release.team_id,
        kind=JobKind.RESOLVE_COMMIT,
        dedupe_key=f"resolve_commit:{release.pk}",
        due_at=ctx.now(),
        release_id=release.pk,
    )


async def record(
    session: AsyncSession,
    ctx: ServiceContext,
    release: Release,
    sha: str,
    *,
    actor: Actor,
    source: str,
    members: Members,
) -> bool:
    """Record `sha` as the commit of `release` (locked), once: the same sha again changes nothing (False), another
    one is refused. A new commit is new scope: approvals start over, the approvers are told."""
    if release.commit_sha:
        require_same(release.ref, release.commit_sha, sha, who=source)
        return False
    release.commit_sha = sha
    change = ReleaseChange(
        Audit.COMMIT_RECORDED,
        {"commit": sha, "source": source},
        scope=LABELS["commit_sha"],
        thread=post("thread_commit_recorded", actor=actor.user_id, source=source, url=url_of(ctx, release)),
    )
    await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
    return True


def refuse_change(release: Release, sha: str) -> None:
    """A person naming a commit for a release that has one: only the same one is accepted."""
    if release.commit_sha and release.commit_sha != sha:
        raise CommitMismatch(release.ref, release.commit_sha, sha, who="the edit")


@runs(JobKind.RESOLVE_COMMIT)
async def run_resolutions(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """Look up each release's tag on GitHub and record the commit it names; GitHub unavailable: try again later
    (when it says, else in a minute), never given up while the release is open."""
    for job in due:
        async with ctx.db.read() as session:
            release = await releases_repo.get_by_id(session=session, team_id=team_id, release_id=job.release_id or 0)
        repository = ctx.policy.repository(release.service) if release is not None else None
        if release is None or release.commit_sha or repository is None or release.status in CLOSED:
            async with ctx.db.transaction() as session:
                if await jobs.fence(session=session, job_ids=[job.pk], worker=worker):
                    await jobs.finish(session=session, job_ids=[job.pk], status="dropped", error="nothing to resolve")
            continue
        found: tuple[str, str] | None = None
        try:
            for tag in tags_of(release.version):
                sha = await ctx.code.tag_commit(repository, tag)
                if sha is not None:
                    found = (tag, sha)
                    break
        except CodeHostUnavailable as exc:
            wait = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else RETRY
            async with ctx.db.transaction() as session:
                if await jobs.fence(session=session, job_ids=[job.pk], worker=worker):
                    await jobs.again(session=session, job_id=job.pk, due_at=ctx.now() + wait, error=str(exc))
            continue
        await _resolved(ctx, team_id, job, worker, repository, found)


async def _resolved(
    ctx: ServiceContext, team_id: str, job: ScheduledJob, worker: str, repository: str, found: tuple[str, str] | None
) -> None:
    members = await ctx.members(team_id)
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.pk], worker=worker):
            return
        release = await lookup.release(session, team_id=team_id, ref=job.release_id or 0, lock=True)
        if found is not None and release.commit_sha is None:
            tag, sha = found
            actor = Actor(team_id, SHIPMATE)
            await record(session, ctx, release, sha, actor=actor, source=f"tag {tag} in {repository}", members=members)
        elif found is None:
            tags = tags_of(release.version)
            change = ReleaseChange(
                Audit.COMMIT_UNRESOLVED,
                {"repository": repository, "tags": tags},
                thread=post("thread_commit_unresolved", repository=repository, tags=tags),
                card=False,
            )
            await release_state.apply(session, ctx, release, change, actor_id=SHIPMATE, members=members)
        await jobs.finish(session=session, job_ids=[job.pk])


@HOOKS.after(Audit.PROPOSED, Audit.REPROPOSED)
async def _proposed(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    await plan_resolution(session, ctx, release)
