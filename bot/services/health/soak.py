"""The soak's follow-ups: when a deployment starts a soak (the next environment has `min_soak`), a job at its end
refreshes the card (the countdown goes) and, when the soak, the approvals and the sign-off are all met, tells the
next environment's deployers "payments@2.4.0 is ready for prod" once. An approval or a sign-off that completes the
set later tells them then. A waiting gate check needs nothing from here: its verdict knows when the soak ends."""

from collections.abc import Sequence
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import policy_alerts
from bot.domain.change import Audit, ReleaseChange
from bot.domain.gates import evaluate
from bot.domain.lifecycle import OPEN
from bot.domain.policy import Environment, Members
from bot.render import render, render_text
from bot.services import deploys
from bot.services.health import people
from bot.services.kernel import release_state
from bot.services.kernel.context import ServiceContext
from bot.services.kernel.hooks import HOOKS, Facts
from bot.services.kernel.jobs import runs
from storage.models import Release, ScheduledJob
from storage.repositories import audit, jobs, outbox
from storage.repositories import deployments as deployments_repo
from storage.repositories import releases as releases_repo

SOAK_READY = "soak_ready"  # job: target = the environment it soaks for; release_id set
NOT_BLOCKING = ("freeze", "pipeline")  # ready means soak, approvals and sign-off; a freeze is the deployer's to see
RECHECK = timedelta(minutes=5)  # an alert interrupted the soak: look again this often while the version runs there


def _following(ctx: ServiceContext, environment: str) -> Environment | None:
    names = ctx.policy.environment_names
    index = names.index(environment) if environment in names else -1
    if index < 0 or index + 1 >= len(names):
        return None
    env = ctx.policy.environments[index + 1]
    return env if env.min_soak else None


@HOOKS.after(Audit.DEPLOYED)
async def _deployed(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    deployment = facts.deployment
    if deployment is None or deployment.outcome != deployments_repo.SUCCEEDED:
        return
    target = _following(ctx, deployment.environment)
    soak = policy_alerts.duration(target.min_soak) if target else None
    if target is None or soak is None:
        return
    due = jobs.Due(
        kind=SOAK_READY,
        dedupe_key=f"{SOAK_READY}:{release.pk}:{target.name}:{deployment.id}",
        due_at=deployment.created_at + soak,
        target=target.name,
        release_id=release.pk,
    )
    await jobs.ensure_all(session=session, team_id=release.team_id, jobs=[due])


@HOOKS.after(Audit.APPROVED, Audit.VERIFIED, Audit.ALERT_NOT_RELATED)
async def _maybe_complete(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    """The last approval or sign-off may be what was missing once the soak was done."""
    if not any(env.min_soak for env in ctx.policy.environments):
        return  # no environment waits for a soak: nothing to read
    deployed = await deployments_repo.reached(session=session, team_id=release.team_id, release_id=release.pk)
    for env in ctx.policy.environments:
        previous = ctx.policy.previous_environment(env.name)
        if env.min_soak and previous is not None and previous.name in deployed and env.name not in deployed:
            # looked at by the job, outside this transaction (user groups are resolved through Slack)
            now = jobs.Due(
                kind=SOAK_READY,
                dedupe_key=f"{SOAK_READY}:{release.pk}:{env.name}:now",
                due_at=ctx.now(),
                target=env.name,
                release_id=release.pk,
            )
            await jobs.ensure_all(session=session, team_id=release.team_id, jobs=[now], earlier=True)


async def ready_if_met(
    session: AsyncSession, ctx: ServiceContext, release: Release, env: Environment, members: Members
) -> str:
    """Tell `env`'s deployers once that `release` may go there now. What it found: told, told_before, soaking,
    unhealthy, waiting."""
    if release.status not in OPEN:
        return "closed"
    facts = await deploys.gate_facts(
        session, ctx, release, env, actor_id=deploys.CI_ACTOR, override_reason=None, members=members
    )
    if facts.soak is not None and not facts.soak.met:
        if facts.soak.since is not None or "firing" in facts.soak.unhealthy:
            return "soaking"
        return "not_soaking"  # rolled back there, or no longer live: nothing to wait for
    if [refusal for refusal in evaluate(facts) if refusal.gate not in NOT_BLOCKING]:
        return "waiting"
    told = await audit.latest(
        session=session,
        team_id=release.team_id,
        release_id=release.pk,
        action=Audit.SOAK_READY,
        details={"environment": env.name},
    )
    if told is not None:
        return "told_before"
    paged = people.deployers(ctx.policy, env, members)
    change = ReleaseChange(Audit.SOAK_READY, {"environment": env.name, "told": paged})
    await release_state.apply(session, ctx, release, change, actor_id="shipmate", members=members)
    text = render_text("soak_ready_dm", release=release, env=env)
    for user_id in paged:
        outbox.direct(
            session=session,
            team_id=release.team_id,
            user_id=user_id,
            payload=render("message", text=text, context=None),
        )
    return "told"


@runs(SOAK_READY)
async def run_soak_ready(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    members = await ctx.members(team_id)
    for job in due:
        async with ctx.db.transaction() as session:
            if not await jobs.fence(session=session, job_ids=[job.id or 0], worker=worker):
                continue
            release = await releases_repo.lock_by_id(session=session, team_id=team_id, release_id=job.release_id or 0)
            env = ctx.policy.environment(job.target or "")
            if release is None or env is None:
                await jobs.finish(session=session, job_ids=[job.id or 0], status="dropped", error="gone")
                continue
            found = await ready_if_met(session, ctx, release, env, members)
            if found == "soaking" and not (job.dedupe_key or "").endswith(
                ":now"
            ):  # an alert moved the soak's start: look again later
                await jobs.again(session=session, job_id=job.id or 0, due_at=ctx.now() + RECHECK)
                continue
            if found != "told":
                await release_state.touch(session, ctx, release, members)  # the card's countdown is over
            await jobs.finish(session=session, job_ids=[job.id or 0], error=found)
