"""An emergency change after it reaches the final environment: its full approval (a normal change's quorum for its
risk) is due within `[emergency] retro_within`. Durable jobs remind the approvers halfway and, once it is overdue,
escalate to the release managers (the card then says "retroactive approval overdue"); the post-release review
starts at once. Every step is in the history."""

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import change_classes, reminders
from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.policy import is_user_group
from bot.domain.reminders import Kind
from bot.render import render, render_text
from bot.services.kernel import release_state
from bot.services.kernel.context import ServiceContext
from bot.services.kernel.hooks import HOOKS, Facts
from bot.services.kernel.jobs import runs
from storage.models import Release, ScheduledJob
from storage.repositories import jobs, outbox
from storage.repositories import releases as releases_repo

REMIND = "retro_reminder"  # halfway to the due time: the approvers
ESCALATE = "retro_overdue"  # at the due time: the release managers


def _key(kind: str, release_id: int) -> str:
    return f"{kind}:{release_id}"


@HOOKS.after(Audit.DEPLOYED)
async def _reached_final(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    deployment = facts.deployment
    if deployment is None or deployment.outcome != "succeeded" or not ctx.policy.is_final(deployment.environment):
        return
    if not change_classes.in_retro(release) or release.retro_approved_at is not None:
        return
    due = release.retro_due_at
    assert due is not None
    halfway = ctx.now() + (due - ctx.now()) / 2
    await jobs.ensure_all(
        session=session,
        team_id=release.team_id,
        jobs=[
            jobs.Due(REMIND, _key(REMIND, release.pk), halfway, release_id=release.pk),
            jobs.Due(ESCALATE, _key(ESCALATE, release.pk), due, release_id=release.pk),
            # An emergency change is reviewed at once, not `[review] after` later.
            jobs.Due(
                Kind.REVIEW,
                reminders.review_key(release.pk),
                ctx.now(),
                release_id=release.pk,
                payload={"reason": "deployed", "deployment_id": deployment.id},
            ),
        ],
        earlier=True,
    )


def _approvers(ctx: ServiceContext, release: Release) -> list[str]:
    """Who may give the full approval: the approvers of every environment a normal change of its risk needs."""
    policy = change_classes.view(ctx.policy, release)
    asked: list[str] = []
    for env in policy.environments:
        if env.needs_approval:
            asked += env.approvers or policy.release_managers
    return list(dict.fromkeys(asked))


@runs(REMIND, ESCALATE)
async def run_retro(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.pk for job in due], worker=worker):
            return
        for job in due:
            release = (
                await releases_repo.get_by_id(session=session, team_id=team_id, release_id=job.release_id)
                if job.release_id is not None
                else None
            )
            if release is None or not change_classes.in_retro(release) or release.retro_approved_at is not None:
                await jobs.finish(session=session, job_ids=[job.pk], status="dropped", error="approved or gone")
                continue
            overdue = job.kind == ESCALATE
            told = list(ctx.policy.release_managers) if overdue else _approvers(ctx, release)
            change = ReleaseChange(
                Audit.RETRO_OVERDUE if overdue else Audit.RETRO_REMINDED,
                {"due": release.retro_due_at.isoformat() if release.retro_due_at else None, "told": told},
                thread=post("thread_retro", overdue=overdue, told=told),
                card=overdue,
            )
            await release_state.apply(session, ctx, release, change, actor_id="shipmate", members={})
            text = render_text("thread_retro", release=release, overdue=overdue, told=[])
            for user_id in [entity for entity in told if not is_user_group(entity)]:
                outbox.direct(
                    session=session,
                    team_id=team_id,
                    user_id=user_id,
                    payload=render("message", text=text, context=None),
                )
            await jobs.finish(session=session, job_ids=[job.pk])
