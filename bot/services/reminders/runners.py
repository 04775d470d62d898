"""The reminders' jobs, run when due (registered with the kernel's job runner): a planned window opens soon, a
regression sign-off is owed, an action item is due. Each batch writes its messages and finishes its jobs in ONE
transaction, after checking that its worker still holds them, so every reminder goes out exactly once however many
processes run."""

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import reminders
from bot.domain.change import post
from bot.domain.lifecycle import OPEN, Status
from bot.domain.policy import is_user_group
from bot.domain.reminders import Kind
from bot.domain.timeparse import parse_duration
from bot.render import render, render_text
from bot.services.kernel import release_state
from bot.services.kernel.context import ServiceContext
from bot.services.kernel.jobs import runs
from storage.models import ActionItem, Release, ScheduledJob
from storage.repositories import action_items as items_repo
from storage.repositories import deployments, jobs, outbox, verifications
from storage.repositories import releases as releases_repo

log = logging.getLogger(__name__)

Runner = Callable[[ServiceContext, str, Sequence[ScheduledJob], str], Awaitable[None]]


async def _release(session: AsyncSession, job: ScheduledJob) -> Release | None:
    if job.release_id is None:
        return None
    return await releases_repo.get_by_id(session=session, team_id=job.team_id, release_id=job.release_id)


@runs(Kind.WINDOW)
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
            await release_state.say(session, ctx, release, post("window_reminder"))
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


@runs(Kind.REGRESSION)
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
            reminder = post(
                "regression_reminder", environment=env.name, verifiers=verifiers, anyone=anyone, failed=signoff
            )
            await release_state.say(session, ctx, release, reminder)
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


@runs(Kind.ACTION_ITEM)
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
