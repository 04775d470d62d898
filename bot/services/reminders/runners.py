"""Running due jobs. Each batch writes its messages and finishes its jobs in ONE transaction, after checking
that this worker still holds them, so every reminder goes out exactly once however many processes run."""

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from itertools import groupby

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import reminders
from bot.domain.lifecycle import OPEN, REVIEWABLE, Status
from bot.domain.pipeline import JobKind
from bot.domain.policy import is_user_group
from bot.domain.reminders import Kind
from bot.domain.timeparse import parse_duration
from bot.render import render, render_text
from bot.services.deploys import deploy_requests
from bot.services.kernel import release_card
from bot.services.kernel.context import ServiceContext
from bot.services.metrics import metrics_digest
from bot.services.pipeline import github_events
from bot.services.releases import commits
from bot.services.reminders import approval_digest
from bot.services.reviews import reviews
from storage.models import ActionItem, Release, ScheduledJob
from storage.repositories import action_items as items_repo
from storage.repositories import deployments, jobs, outbox, verifications
from storage.repositories import releases as releases_repo
from storage.repositories import reviews as reviews_repo
from storage.types import utcnow

log = logging.getLogger(__name__)

Runner = Callable[[ServiceContext, str, Sequence[ScheduledJob], str], Awaitable[None]]


async def _release(session: AsyncSession, job: ScheduledJob) -> Release | None:
    if job.release_id is None:
        return None
    return await releases_repo.get_by_id(session=session, team_id=job.team_id, release_id=job.release_id)


async def run_windows(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """The window opens soon: a line in each release's thread, and one message per proposer for all of theirs."""
    now = ctx.now()
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.pk for job in due], worker=worker):
            return
        by_proposer: dict[str, list[Release]] = defaultdict(list)
        found = await releases_repo.by_ids(
            session=session, team_id=team_id, release_ids=[job.release_id for job in due if job.release_id is not None]
        )
        done, moved = [], []
        for job in due:
            release = found.get(job.release_id) if job.release_id is not None else None
            current = (
                release is not None
                and release.status in OPEN
                and release.window_start is not None
                and job.dedupe_key == reminders.window_key(release.pk, release.window_start)
                and (release.window_end or release.window_start) > now
            )
            if not current or release is None:
                moved.append(job.pk)
                continue
            release_card.thread(session, release, "window_reminder")
            by_proposer[release.proposer_id].append(release)
            done.append(job.pk)
        if moved:
            await jobs.finish(session=session, job_ids=moved, status="dropped", error="window moved or over")
        if done:
            await jobs.finish(session=session, job_ids=done)
        for user_id, releases in by_proposer.items():
            text = render_text("window_reminder_dm", releases=releases)
            outbox.direct(
                session=session, team_id=team_id, user_id=user_id, payload=render("message", text=text, context=None)
            )
    ctx.kick()


async def run_regressions(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """A release sits in an environment that requires a regression sign-off, and nobody has recorded one."""
    following = reminders.next_nudge(ctx.now(), ctx.policy.pending_approval_every, ctx.policy.working_hours)
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.pk for job in due], worker=worker):
            return
        for job in due:
            release = await _release(session, job)
            env = ctx.policy.environment(job.target or "")
            if release is None or env is None or release.status is not Status.IN_PROGRESS:
                await jobs.finish(session=session, job_ids=[job.pk], status="dropped", error="no longer applies")
                continue
            signoff = await verifications.latest(
                session=session, team_id=team_id, release_id=release.pk, environment=env.name
            )
            names = ctx.policy.environment_names
            later = set(names[names.index(env.name) + 1 :])
            reached = await deployments.reached(session=session, team_id=team_id, release_id=release.pk)
            if (signoff is not None and signoff.passed) or later & reached:
                await jobs.finish(session=session, job_ids=[job.pk])
                continue
            # Verifiers sign off, never the proposer; with none listed, the proposer is nudged to find someone.
            verifiers = list(env.verifiers)
            anyone = not verifiers
            release_card.thread(
                session,
                release,
                "regression_reminder",
                environment=env.name,
                verifiers=verifiers,
                anyone=anyone,
                failed=signoff,
            )
            text = render_text(
                "regression_reminder",
                release=release,
                environment=env.name,
                verifiers=[],
                anyone=anyone,
                failed=signoff,
            )
            for user_id in [v for v in verifiers or [release.proposer_id] if not is_user_group(v)]:
                outbox.direct(
                    session=session,
                    team_id=team_id,
                    user_id=user_id,
                    payload=render("message", text=text, context=None),
                )
            await jobs.again(session=session, job_id=job.pk, due_at=following)
    ctx.kick()


async def run_reviews(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """Time for the post-release review: the prompts go into the release's thread."""
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.pk for job in due], worker=worker):
            return
        for job in due:
            release = await _release(session, job)
            if release is None or release.status not in REVIEWABLE:
                await jobs.finish(session=session, job_ids=[job.pk], status="dropped", error="not reviewable")
                continue
            existing = await reviews_repo.for_release(session=session, team_id=team_id, release_id=release.pk)
            if existing is None:
                reason = str(job.payload.get("reason", "deployed"))
                await reviews.open_review(session, ctx, release, started_by="shipmate", reason=reason)
            await jobs.finish(session=session, job_ids=[job.pk])
    ctx.kick()


async def run_action_items(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """Open action items, one message per owner listing theirs; nudged again until done."""
    now = ctx.now()
    every = parse_duration(ctx.policy.reminders.action_item_every)
    hours = ctx.policy.working_hours
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.pk for job in due], worker=worker):
            return
        ids = [int(job.payload.get("item_id", 0)) for job in due]
        items = {item.id: item for item in await items_repo.by_ids(session=session, team_id=team_id, item_ids=ids)}
        by_owner: dict[str, list[tuple[ActionItem, Release]]] = defaultdict(list)
        for job in due:
            item = items.get(int(job.payload.get("item_id", 0)))
            if item is None or item.status != "open":
                await jobs.finish(session=session, job_ids=[job.pk], status="dropped", error="done or gone")
                continue
            release = await releases_repo.get_by_id(session=session, team_id=team_id, release_id=item.release_id)
            assert release is not None
            by_owner[item.owner_id].append((item, release))
            if item.due_at > now:
                await jobs.again(
                    session=session, job_id=job.pk, due_at=item.due_at, payload={**job.payload, "phase": "due"}
                )
            else:
                following = reminders.next_nudge(now, every, hours)
                await jobs.again(
                    session=session, job_id=job.pk, due_at=following, payload={**job.payload, "phase": "overdue"}
                )
        for owner_id, entries in by_owner.items():
            entries.sort(key=lambda entry: entry[0].due_at)
            outbox.direct(
                session=session,
                team_id=team_id,
                user_id=owner_id,
                payload=render("action_items_dm", heading="reminder", entries=entries[:20], by=None, now=now),
            )
    ctx.kick()


RUNNERS: dict[str, Runner] = {
    Kind.APPROVAL: approval_digest.run,
    Kind.WINDOW: run_windows,
    Kind.REGRESSION: run_regressions,
    Kind.REVIEW: run_reviews,
    Kind.ACTION_ITEM: run_action_items,
    JobKind.DEPLOY_TIMEOUT: deploy_requests.run_timeouts,
    JobKind.PROTECTION_RULE: github_events.run_protection,
    JobKind.RESOLVE_COMMIT: commits.run_resolutions,
    Kind.METRICS_DIGEST: metrics_digest.run,
}


async def _hold_until_working_hours(
    ctx: ServiceContext, due: Sequence[ScheduledJob], worker: str
) -> list[ScheduledJob]:
    """Nudges claimed outside working hours go back to wait for the next working moment."""
    hours = ctx.policy.working_hours
    now = ctx.now()
    held = [job for job in due if reminders.when_deliverable(job.kind, now, hours) > now]
    if held:
        async with ctx.db.transaction() as session:
            if await jobs.fence(session=session, job_ids=[job.pk for job in held], worker=worker):
                for job in held:
                    await jobs.again(
                        session=session, job_id=job.pk, due_at=reminders.when_deliverable(job.kind, now, hours)
                    )
    return [job for job in due if job not in held]


async def run(
    ctx: ServiceContext,
    claimed: Sequence[ScheduledJob],
    worker: str,
    *,
    stopping: Callable[[], bool] = lambda: False,
    failed: Callable[[str, int], None] = lambda kind, count: None,
) -> list[ScheduledJob]:
    """Run claimed jobs, coalesced by workspace and kind. A failing batch is retried later with backoff (`failed`
    hears its kind). Once `stopping()` says so, no further batch starts: the jobs not started are returned."""
    ordered = sorted(claimed, key=lambda job: (job.team_id, job.kind, job.pk))
    batches = [list(batch) for _key, batch in groupby(ordered, key=lambda job: (job.team_id, job.kind))]
    for index, due in enumerate(batches):
        if stopping():
            return [job for batch in batches[index:] for job in batch]
        team_id, kind = due[0].team_id, due[0].kind
        try:
            due = await _hold_until_working_hours(ctx, due, worker)
            runner = RUNNERS.get(kind)
            if runner is None:
                raise ValueError(f"unknown job kind {kind!r}")
            if due:
                await runner(ctx, team_id, due, worker)
        except Exception as exc:  # the jobs stay; they are retried with backoff and given up after a few
            log.exception("%s job(s) of kind %s failed", len(due), kind, extra={"team": team_id})
            await _failed(ctx, due, worker, exc)
            failed(kind, len(due))  # counted once the jobs are back to pending, so a scrape never sees them held
    return []


async def _failed(ctx: ServiceContext, due: Sequence[ScheduledJob], worker: str, exc: Exception) -> None:
    try:
        async with ctx.db.transaction() as session:
            for job in due:
                dead = job.attempts + 1 >= reminders.MAX_FAILURES
                await jobs.failed(
                    session=session,
                    job_id=job.pk,
                    worker=worker,
                    due_at=utcnow() + reminders.backoff(job.attempts),
                    error=f"{type(exc).__name__}: {exc}",
                    dead=dead,
                )
    except Exception:  # the lease runs out and another sweep retries
        log.exception("could not record the failure of %s job(s)", len(due))
