"""What people answer about an alert in the release's thread: **Roll back** (who may roll back the environment;
through the rollback use case, only while the alerted deployment is still live) and **Not related** (who may deploy
there, with a reason): it releases the version from the hold an alert-driven rollback put on it, cancels a pending
automatic rollback, and is counted in `/release metrics`."""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import health, permissions
from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.errors import Conflict, NotFound
from bot.domain.health import Decision
from bot.domain.message import Message, Strong
from bot.domain.policy import Members
from bot.domain.validation import MAX_REASON, check_text
from bot.services import deploys
from bot.services.deploys import DeployRequested, RollbackOutcome
from bot.services.health.alerts import ALERT_ROLLBACK
from bot.services.kernel import lookup, release_state
from bot.services.kernel.context import Actor, ServiceContext
from storage.models import Alert, Release
from storage.repositories import alerts as alerts_repo
from storage.repositories import jobs


@dataclass(frozen=True)
class AlertAnswer:
    message: Message


async def _counted(ctx: ServiceContext, team_id: str, alert_id: int) -> tuple[Alert, Release]:
    async with ctx.db.read() as session:
        alert = await alerts_repo.get(session=session, team_id=team_id, alert_id=alert_id)
        if alert is None or alert.release_id is None or not alert.watched:
            raise NotFound("That alert is not one Shipmate counted against a release; nothing changed.")
        release = await lookup.release(session, team_id=team_id, ref=alert.release_id)
    return alert, release


def _alert_id(value: str) -> int:
    if not value.isdigit():
        raise NotFound("That button is out of date; nothing changed.")
    return int(value)


async def roll_back(ctx: ServiceContext, actor: Actor, value: str) -> AlertAnswer:
    """The Roll back button under an alert: roll the environment back from the alerted deployment."""
    alert, _release = await _counted(ctx, actor.team_id, _alert_id(value))
    if alert.decision in health.ACTED:
        raise Conflict(
            "{alert} was already answered ({decision}); nothing changed.",
            alert=alert.name,
            decision=alert.decision.replace("_", " "),
        )
    reason = f"{alert.name} fired after the deployment"
    outcome = await deploys.rollback(
        ctx, actor, alert.service, alert.environment, reason, only_if_live=alert.deployment_id
    )
    decision = Decision.ROLLBACK_REQUESTED if isinstance(outcome, DeployRequested) else Decision.ROLLED_BACK
    async with ctx.db.transaction() as session:
        await alerts_repo.decide(
            session=session,
            team_id=actor.team_id,
            alert_id=alert.pk,
            decision=decision,
            by=actor.user_id,
            at=ctx.now(),
            reason=reason,
            unless=(Decision.NOT_RELATED,),
            rollback=True,
        )
        await _drop_job(session, actor.team_id, alert)
    assert isinstance(outcome, (DeployRequested, RollbackOutcome))
    return AlertAnswer(outcome.message)


async def open_not_related(ctx: ServiceContext, actor: Actor, value: str) -> tuple[Alert, Release]:
    """Before the reason is asked: only someone who may deploy to the environment may answer."""
    alert, release = await _counted(ctx, actor.team_id, _alert_id(value))
    _may_answer(ctx, actor, alert, release, await ctx.members(actor.team_id))
    return alert, release


def _may_answer(ctx: ServiceContext, actor: Actor, alert: Alert, release: Release, members: Members) -> None:
    env = ctx.policy.environment(alert.environment)
    if env is None:
        raise NotFound("{env} is no longer in the pipeline; nothing changed.", env=alert.environment)
    permissions.check(
        ctx.policy,
        env,
        permissions.Permission.DEPLOY,
        user_id=actor.user_id,
        members=members,
        ref=release.ref,
        proposer_id=release.proposer_id,
    )


async def not_related(ctx: ServiceContext, actor: Actor, alert_id: int, reason: str) -> AlertAnswer:
    reason = check_text(reason, label="reason", limit=MAX_REASON)
    members = await ctx.members(actor.team_id)
    alert, release = await _counted(ctx, actor.team_id, alert_id)
    _may_answer(ctx, actor, alert, release, members)
    async with ctx.db.transaction() as session:
        # the alert's row before the release's, as the automatic rollback takes them
        locked = await alerts_repo.get(session=session, team_id=actor.team_id, alert_id=alert.pk, lock=True)
        alert = locked or alert
        release = await lookup.release(session, team_id=actor.team_id, ref=release.pk, lock=True)
        held = alert.decision in health.HOLDING
        if not await alerts_repo.decide(
            session=session,
            team_id=actor.team_id,
            alert_id=alert.pk,
            decision=Decision.NOT_RELATED,
            by=actor.user_id,
            at=ctx.now(),
            reason=reason,
            unless=(Decision.NOT_RELATED,),
        ):
            raise Conflict("{alert} was already answered “Not related”; nothing changed.", alert=alert.name)
        await _drop_job(session, actor.team_id, alert)
        details = {"environment": alert.environment, "alert": alert.name, "alert_id": alert.pk, "reason": reason}
        told = post("thread_alert_not_related", alert=alert, actor=actor.user_id, reason=reason, held=held)
        change = ReleaseChange(Audit.ALERT_NOT_RELATED, details, thread=told)
        await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
    return AlertAnswer(Message("Recorded: {alert} is not related to {ref}.", alert=Strong(alert.name), ref=release.ref))


async def _drop_job(session: AsyncSession, team_id: str, alert: Alert) -> None:
    await jobs.drop(
        session=session,
        team_id=team_id,
        kinds=[ALERT_ROLLBACK],
        dedupe_keys=[f"{ALERT_ROLLBACK}:{alert.pk}"],
        reason="answered",
    )
