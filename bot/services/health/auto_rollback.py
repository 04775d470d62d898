"""The automatic rollback: a job at an alert's startsAt + `rollback_grace` looks again and, when the alert is still
firing, its deployment still live and nobody decided anything about it, does what `auto_rollback` says: asks the
service's deployer for the rollback (`true`), records that one is needed and pages the environment's deployers
when the service has no deployer, or only says in the thread what it would have done (`"dry-run"`).

Exactly once: the job is claimed atomically (two replicas never both run it), its effects are committed with its
end under its claim (`jobs.fence`), the alert's decision is written only over none, and the slot is locked first:
a second alert about the same deployment finds the rollback already asked for."""

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import health
from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.errors import Conflict, InvalidTransition
from bot.domain.health import AutoAction, Decision
from bot.domain.policy import Environment, Members
from bot.render import render, render_text
from bot.services import deploys
from bot.services.health import people
from bot.services.health.alerts import ALERT_ROLLBACK
from bot.services.kernel import release_state
from bot.services.kernel.context import ServiceContext
from bot.services.kernel.jobs import runs
from storage.models import Alert, Deployment, Release, ScheduledJob
from storage.repositories import alerts as alerts_repo
from storage.repositories import deployments as deployments_repo
from storage.repositories import jobs, outbox
from storage.repositories import releases as releases_repo


@runs(ALERT_ROLLBACK)
async def run_alert_rollbacks(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    members = await ctx.members(team_id)
    for job in due:  # one transaction each: a slot's lock is held only for its own alert
        async with ctx.db.transaction() as session:
            if not await jobs.fence(session=session, job_ids=[job.id or 0], worker=worker):
                continue
            outcome = await _look_again(session, ctx, team_id, job, members)
            await jobs.finish(session=session, job_ids=[job.id or 0], status="done", error=outcome)


async def _look_again(
    session: AsyncSession, ctx: ServiceContext, team_id: str, job: ScheduledJob, members: Members
) -> str:
    alert = await alerts_repo.get(session=session, team_id=team_id, alert_id=int(job.target or 0))
    env = ctx.policy.environment(alert.environment) if alert is not None else None
    if alert is None or env is None:
        return "gone"
    await deployments_repo.lock_slot(session=session, team_id=team_id, service=alert.service, environment=env.name)
    alert = await alerts_repo.get(session=session, team_id=team_id, alert_id=alert.pk, lock=True)
    assert alert is not None
    live = await deployments_repo.current(session=session, team_id=team_id, service=alert.service, environment=env.name)
    resolved = await alerts_repo.is_resolved(
        session=session, team_id=team_id, fingerprint=alert.fingerprint, starts_at=alert.starts_at
    )
    action = health.automatic(
        env.auto_rollback,
        still_firing=not resolved,
        decided=alert.decision,
        still_live=live is not None and live.id == alert.deployment_id,
        deployer=ctx.policy.deployer(alert.service) is not None,
    )
    if action is AutoAction.NOTHING or live is None:
        return "nothing to do"
    release = await releases_repo.lock_by_id(session=session, team_id=team_id, release_id=live.release_id)
    assert release is not None
    if action is AutoAction.DRY_RUN:
        await _dry_run(session, ctx, alert, env, live, release)
    elif action is AutoAction.REQUEST:
        await _request(session, ctx, alert, env, live, release, members)
    else:
        await _page(session, ctx, alert, env, release, members)
    return action.value


async def _decide(
    session: AsyncSession,
    ctx: ServiceContext,
    alert: Alert,
    decision: Decision,
    *,
    reason: str = "",
    rollback: bool = False,
) -> bool:
    """Shipmate's own answer to an alert, recorded once: False when someone (or an earlier run) already acted on it."""
    return await alerts_repo.decide(
        session=session,
        team_id=alert.team_id,
        alert_id=alert.pk,
        decision=decision,
        by="shipmate",
        at=ctx.now(),
        reason=reason,
        unless=tuple(health.ACTED),
        rollback=rollback,
    )


def _reason(alert: Alert, env: Environment) -> str:
    return f"{alert.name} still firing {env.rollback_grace} after it began (automatic rollback)"


async def _dry_run(
    session: AsyncSession, ctx: ServiceContext, alert: Alert, env: Environment, live: Deployment, release: Release
) -> None:
    restored = await deployments_repo.previous_stable(session=session, team_id=alert.team_id, current=live)
    deployer = ctx.policy.deployer(alert.service)
    await _decide(session, ctx, alert, Decision.DRY_RUN)
    told = post(
        "thread_auto_rollback",
        mode="dry-run",
        alert=alert,
        env=env,
        restored=restored,
        deployer=deployer.kind if deployer else None,
        paged=people.deployers(ctx.policy, env, {}),
    )
    details = {
        "environment": env.name,
        "alert": alert.name,
        "alert_id": alert.pk,
        "mode": "dry-run",
        "to": restored.version if restored else None,
    }
    change = ReleaseChange(Audit.AUTO_ROLLBACK, details, thread=told, card=False)
    await release_state.apply(session, ctx, release, change, actor_id="shipmate", members={})


async def _request(
    session: AsyncSession,
    ctx: ServiceContext,
    alert: Alert,
    env: Environment,
    live: Deployment,
    release: Release,
    members: Members,
) -> None:
    try:
        requested = await deploys.request_automatic(session, ctx, live, env, _reason(alert, env), members)
    except (Conflict, InvalidTransition) as refused:  # already being rolled back, or nothing to go back to
        told = post("thread_auto_rollback", mode="refused", alert=alert, env=env, why=refused.text)
        await release_state.apply(
            session, ctx, release, ReleaseChange(None, thread=told, card=False), actor_id="shipmate", members={}
        )
        if isinstance(refused, Conflict):  # the rollback under way is this alert's answer too
            await _decide(session, ctx, alert, Decision.ROLLBACK_REQUESTED)
        return
    await _decide(session, ctx, alert, Decision.ROLLBACK_REQUESTED, reason=requested.request.request_id, rollback=True)
    details = {
        "environment": env.name,
        "alert": alert.name,
        "alert_id": alert.pk,
        "mode": "request",
        "request_id": requested.request.request_id,
        "alert_started": alert.starts_at.isoformat(),
    }
    told = post("thread_auto_rollback", mode="request", alert=alert, env=env, request=requested.request)
    change = ReleaseChange(Audit.AUTO_ROLLBACK, details, thread=told, card=False)
    await release_state.apply(session, ctx, release, change, actor_id="shipmate", members=members)


async def _page(
    session: AsyncSession, ctx: ServiceContext, alert: Alert, env: Environment, release: Release, members: Members
) -> None:
    recorded = await _decide(session, ctx, alert, Decision.ROLLBACK_NEEDED, rollback=True)
    if not recorded:
        return
    paged = people.deployers(ctx.policy, env, members)
    told = post("thread_auto_rollback", mode="page", alert=alert, env=env, paged=paged)
    details = {"environment": env.name, "alert": alert.name, "alert_id": alert.pk, "mode": "page", "paged": paged}
    await release_state.apply(
        session,
        ctx,
        release,
        ReleaseChange(Audit.AUTO_ROLLBACK, details, thread=told),
        actor_id="shipmate",
        members=members,
    )
    text = render_text("rollback_needed_dm", release=release, alert=alert, env=env)
    for user_id in paged:
        outbox.direct(
            session=session, team_id=alert.team_id, user_id=user_id, payload=render("message", text=text, context=None)
        )
