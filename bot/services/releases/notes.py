"""What a release changes, computed from the code in the background: once its commit is known (proposed with it,
or resolved later), a durable job compares what is live in the last environment of the pipeline (prod) with the
release's commit on GitHub, finds the pull requests and tickets, stores the notes and refreshes the card. When
another version reaches (or leaves) that environment first, the base changed and the notes are computed again. A
slow, rate-limited or down GitHub never delays anything: the job waits as GitHub says and tries again."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import commits
from bot.domain.change import Audit, ReleaseChange
from bot.domain.errors import CodeHostUnavailable
from bot.domain.lifecycle import OPEN, Status
from bot.domain.pipeline import JobKind
from bot.domain.release_notes import Notes, PullInfo, Standing, pull_from_message, pull_named_by, pulls_to_look_up
from bot.domain.tickets import Trackers, tickets_in
from bot.services.kernel import lookup, release_state
from bot.services.kernel.context import CodeHost, ServiceContext
from bot.services.kernel.hooks import HOOKS, Facts
from bot.services.kernel.jobs import runs
from storage.models import Release, ScheduledJob
from storage.repositories import deployments as deployments_repo
from storage.repositories import jobs
from storage.repositories import release_notes as notes_repo
from storage.repositories import releases as releases_repo

RETRY = timedelta(seconds=60)  # GitHub unreachable and silent about when to come back
UNKNOWN_COMMIT_RETRY = timedelta(minutes=10)  # GitHub does not know the commit (yet): pushed later, perhaps
MAX_PULL_LOOKUPS = 100  # `pulls/{n}` calls; past them a pull request is what its merge or squash commit says
MAX_COMMIT_LOOKUPS = 100  # `commits/{sha}/pulls` calls for a repository whose messages name no pull request


def target_environment(ctx: ServiceContext) -> str:
    """Notes compare with what is live in the last environment of the pipeline (prod)."""
    return ctx.policy.environments[-1].name


async def plan(session: AsyncSession, ctx: ServiceContext, release: Release) -> None:
    """Compute `release`'s notes now, in the background (once per release however often it is asked)."""
    if not release.commit_sha or release.status not in OPEN or not ctx.policy.repository(release.service):
        return
    await jobs.ensure(
        session=session,
        team_id=release.team_id,
        kind=JobKind.RELEASE_NOTES,
        dedupe_key=f"release_notes:{release.pk}",
        due_at=ctx.now(),
        release_id=release.pk,
        earlier=True,
    )


@dataclass(frozen=True)
class Base:
    sha: str | None
    ref: str  # "payments@2.3.0", or "" when nothing is live


async def base_of(session: AsyncSession, ctx: ServiceContext, team_id: str, release: Release) -> Base:
    """The commit of what is live in the target environment (the deployment's, else its release's); for a release
    that is live there itself, what was live before it."""
    service = release.service
    live = await deployments_repo.current(
        session=session, team_id=team_id, service=service, environment=target_environment(ctx)
    )
    if live is not None and live.release_id == release.pk:
        live = await deployments_repo.previous_stable(session=session, team_id=team_id, current=live)
    if live is None:
        return Base(None, "")
    sha = live.commit_sha
    if sha is None:
        shipped = await releases_repo.get_by_id(session=session, team_id=team_id, release_id=live.release_id)
        sha = shipped.commit_sha if shipped is not None else None
    return Base(sha, f"{service}@{live.version}")


async def compute(
    code: CodeHost, trackers: Trackers, repository: str, base: Base, head: str, *, api_url: str
) -> tuple[Notes, int]:
    """The notes of `base...head` and how many GitHub calls they cost; `CodeHostUnavailable` when GitHub cannot
    answer now."""
    if base.sha is None:
        return Notes(None, head, Standing.FIRST, 0, ""), 0
    comparison = await code.compare(repository, base.sha, head)
    if comparison is None:
        raise CodeHostUnavailable(
            f"GitHub knows no commit {head[:7]} or {base.sha[:7]} in {repository}",
            retry_after=UNKNOWN_COMMIT_RETRY.total_seconds(),
        )
    calls = comparison.pages
    numbers, shas = pulls_to_look_up(comparison.commits)
    found: dict[int, PullInfo] = {}
    carried = {commit.sha for commit in comparison.commits}
    for number in numbers[:MAX_PULL_LOOKUPS]:
        pull = await code.pull(repository, number)
        calls += 1
        # A message only names a pull request; it is this release's when the commit that merged it is in the compare
        # (anyone who can push can write "Merge pull request #7" over code that never went through #7).
        if pull is not None and pull.merge_commit_sha in carried:
            found[pull.number] = pull
    if len(numbers) > MAX_PULL_LOOKUPS:  # past the budget, a pull request is what its commit's message says
        web = commits.web_base(api_url)
        for commit in comparison.commits:
            named = pull_named_by(commit.message)
            if named is not None and named not in found:
                pull_url = f"{web}/{repository}/pull/{named}"
                described = pull_from_message(commit, pull_url)
                if described is not None:
                    found[named] = described
    for sha in shas[:MAX_COMMIT_LOOKUPS]:
        calls += 1
        for pull in await code.commit_pulls(repository, sha):
            found.setdefault(pull.number, pull)
    pulls = tuple(found.values())
    texts = [text for pull in pulls for text in (pull.title, pull.body)]
    texts += [commit.message for commit in comparison.commits]
    tickets = tickets_in(
        texts, repository=repository, trackers=trackers, pulls=found, branches=[pull.branch for pull in pulls]
    )
    notes = Notes(
        base_sha=base.sha,
        head_sha=head,
        standing=comparison.status,
        total_commits=comparison.total_commits,
        compare_url=comparison.html_url,
        commits=comparison.commits,
        pulls=pulls,
        tickets=tuple(tickets),
        behind_by=comparison.behind_by,
        base_ref=base.ref,
    )
    return notes, calls


@runs(JobKind.RELEASE_NOTES)
async def run_notes(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """Compute each release's notes; GitHub unavailable: try again when it says (else in a minute)."""
    trackers = Trackers.of(
        ctx.policy.integrations.jira_url, ctx.policy.integrations.linear_workspace, ctx.settings.shipmate_github_api_url
    )
    for job in due:
        async with ctx.db.read() as session:
            release = await releases_repo.get_by_id(session=session, team_id=team_id, release_id=job.release_id or 0)
            wanted = await _wanted(session, ctx, team_id, release)
        if wanted is None or release is None or release.commit_sha is None:
            await _finish(ctx, job, worker, status="dropped", error="nothing to compute")
            continue
        repository, base = wanted
        try:
            api_url = ctx.settings.shipmate_github_api_url
            notes, _calls = await compute(ctx.code, trackers, repository, base, release.commit_sha, api_url=api_url)
        except CodeHostUnavailable as exc:
            wait = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else RETRY
            async with ctx.db.transaction() as session:
                if await jobs.fence(session=session, job_ids=[job.pk], worker=worker):
                    await jobs.again(session=session, job_id=job.pk, due_at=ctx.now() + wait, error=str(exc))
            continue
        await _store(ctx, team_id, job, worker, notes)


async def _wanted(
    session: AsyncSession, ctx: ServiceContext, team_id: str, release: Release | None
) -> tuple[str, Base] | None:
    """The repository and base to compute against, or None when nothing needs computing: no commit or repository,
    cancelled or rejected, notes kept of what it shipped (live in the target environment, or closed), or computed
    for this base. A release that shipped before GitHub answered still gets them, against what it replaced."""
    if release is None or not release.commit_sha or release.status in (Status.CANCELLED, Status.REJECTED):
        return None
    repository = ctx.policy.repository(release.service)
    if repository is None:
        return None
    reached = await deployments_repo.reached(session=session, team_id=team_id, release_id=release.pk)
    stored = await notes_repo.get(session=session, team_id=team_id, release_id=release.pk)
    if stored is not None and (release.status not in OPEN or target_environment(ctx) in reached):
        return None  # it shipped: its notes say what it shipped
    base = await base_of(session, ctx, team_id, release)
    if stored is not None and stored.base_sha == base.sha and stored.head_sha == release.commit_sha:
        return None
    return repository, base


async def _finish(
    ctx: ServiceContext, job: ScheduledJob, worker: str, *, status: str = "done", error: str = ""
) -> None:
    async with ctx.db.transaction() as session:
        if await jobs.fence(session=session, job_ids=[job.pk], worker=worker):
            await jobs.finish(session=session, job_ids=[job.pk], status=status, error=error)


async def _store(ctx: ServiceContext, team_id: str, job: ScheduledJob, worker: str, notes: Notes) -> None:
    """Keep the notes and show them on the card, once (the worker must still hold the job)."""
    members = await ctx.members(team_id)
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.pk], worker=worker):
            return
        release = await lookup.release(session, team_id=team_id, ref=job.release_id or 0, lock=True)
        if release.commit_sha == notes.head_sha:
            await notes_repo.store(session=session, team_id=team_id, release_id=release.pk, notes=notes)
            await release_state.apply(session, ctx, release, ReleaseChange(None), actor_id="shipmate", members=members)
        if (await base_of(session, ctx, team_id, release)).sha != notes.base_sha:
            # Another version reached the target while GitHub was asked (its plan met this job running): again.
            await jobs.again(session=session, job_id=job.pk, due_at=ctx.now())
        else:
            await jobs.finish(session=session, job_ids=[job.pk])


@HOOKS.after(Audit.PROPOSED, Audit.REPROPOSED, Audit.COMMIT_RECORDED)
async def _commit_known(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    await plan(session, ctx, release)


@HOOKS.after(Audit.DEPLOYED, Audit.ROLLED_BACK)
async def _base_moved(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    """Another version reached (or left) the target environment: the other open releases of the service compare
    with a new base."""
    if facts.deployment is not None and facts.deployment.environment != target_environment(ctx):
        return
    others = await notes_repo.open_with_commit(
        session=session, team_id=release.team_id, service=release.service, statuses=OPEN
    )
    for other in others:
        if other.pk != release.pk:
            await plan(session, ctx, other)
