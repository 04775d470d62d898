"""The pending-approval reminder: one message per approver listing everything that waits on them."""

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import approval_policy, change_classes, release_notes, reminders
from bot.domain.approval_policy import ApprovalState
from bot.domain.policy import Members, is_user_group
from bot.domain.reminders import Waiting
from bot.render import render
from bot.services.kernel.context import ServiceContext
from bot.services.kernel.jobs import runs
from bot.services.reminders.planning import AWAITING
from storage.models import Release, ScheduledJob
from storage.repositories import approvals as approvals_repo
from storage.repositories import jobs, outbox
from storage.repositories import release_notes as notes_repo
from storage.repositories import releases as releases_repo

MAX_LISTED = 30


@runs(reminders.Kind.APPROVAL)
async def run(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    # People in user groups are looked up before the transaction (a Slack call must not hold database locks).
    members = await ctx.members(team_id)
    now = ctx.now()
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.pk for job in due], worker=worker):
            return
        pending = await releases_repo.with_status(session=session, team_id=team_id, statuses=AWAITING, limit=1000)
        items, owed = await _waiting(session, ctx, team_id, pending, members)
        waiting_on = reminders.waiting_on_users(items, members)
        scheduled = [
            j.target or "" for j in await jobs.live(session=session, team_id=team_id, kind=reminders.Kind.APPROVAL)
        ]
        recipients = reminders.digest_recipients(
            [job.target or "" for job in due], waiting_on, members, [t for t in scheduled if not is_user_group(t)]
        )
        for user_id, listed in recipients.items():
            outbox.direct(
                session=session,
                team_id=team_id,
                user_id=user_id,
                payload=render("approval_reminder", waiting=listed[:MAX_LISTED], more=max(0, len(listed) - MAX_LISTED)),
            )
        following = reminders.next_nudge(now, ctx.policy.pending_approval_every, ctx.policy.working_hours)
        for job in due:
            assert job.id is not None
            if job.target in owed:
                await jobs.again(session=session, job_id=job.id, due_at=following)
            else:
                await jobs.finish(session=session, job_ids=[job.id], status="dropped", error="nothing waits on them")


async def _waiting(
    session: AsyncSession, ctx: ServiceContext, team_id: str, pending: Sequence[Release], members: Members
) -> tuple[list[tuple[Waiting, list[str], tuple[str, ...], ApprovalState]], set[str]]:
    """What waits for approval, and from whom: each release × environment short of approvals, and every entity
    (person or group) asked for one."""
    ids = [release.pk for release in pending]
    decided = await approvals_repo.pending_for_releases(session=session, team_id=team_id, release_ids=ids)
    notes = await notes_repo.briefs_for(session=session, team_id=team_id, release_ids=ids)
    items = []
    owed: set[str] = set()
    for release in sorted(pending, key=lambda r: r.pk):
        authors = approval_policy.authors_of(release.scope_authors)
        barred = (release.proposer_id, *authors)
        policy = change_classes.view(ctx.policy, release)
        states = approval_policy.states(
            policy,
            proposer_id=release.proposer_id,
            decisions=decided.get(release.pk, []),
            members=members,
            scope_authors=authors,
        )
        for state in states:
            env = policy.environment(state.environment)
            entities = reminders.approver_entities(env, state, ctx.policy.release_managers) if env else []
            if env is None or not entities:
                continue
            owed.update(entities)
            have = state.counted
            contents = release_notes.counts(notes[release.pk]) if release.pk in notes else ""
            waiting = Waiting(release.pk, release.ref, env.name, have, state.required, release.updated_at, contents)
            items.append((waiting, entities, barred, state))
    return items, owed
