"""Rollback: an environment goes back to the previous stable version of a service.

Who may: the environment's deployers (its approvers when it lists none, anyone where it needs no approvals) and
release managers, as `bot.domain.permissions` says; the proposer of the release being rolled back included.

The previous stable version is the newest earlier succeeded deployment of another version that was not itself
rolled back. The rolled-back deployments are marked (never deleted), so "what is live" stays a plain query.
"""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import permissions
from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.errors import Conflict, InvalidTransition, NotFound
from bot.domain.lifecycle import Event
from bot.domain.message import Message, Strong
from bot.domain.pipeline import Action, RequestStatus
from bot.domain.policy import Environment, Members
from bot.domain.validation import MAX_REASON, check_service, check_text
from bot.services.deploys import deploy_requests
from bot.services.deploys.deploy_requests import DeployRequested
from bot.services.deploys.deployments import CI_ACTOR, CiReport, DeployOutcome, environment_or_refuse
from bot.services.kernel import lookup, refusals, release_state
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.kernel.hooks import Facts
from storage.models import Deployment, DeploymentRequest, Release
from storage.repositories import deployments as deployments_repo

AUTOMATIC_ACTOR = "shipmate"  # who asks for a rollback an alert called for


@dataclass(frozen=True)
class RollbackOutcome:
    release: Release  # the release taken out
    restored: Deployment  # what is live again
    message: Message


async def rollback(
    ctx: ServiceContext,
    actor: Actor,
    service: str,
    environment: str,
    reason: str,
    *,
    only_if_live: int | None = None,
) -> RollbackOutcome | DeployRequested:
    """`only_if_live`: roll back only while that deployment is what is live (a button about one deployment: a
    second click, or one after the rollback, changes nothing)."""
    service = check_service(service)
    env = environment_or_refuse(ctx.policy, environment)
    reason = check_text(reason, label="reason", limit=MAX_REASON)
    members = await ctx.members(actor.team_id)
    async with (
        refusals.audited(
            ctx, actor, "roll back", service=service, environment=env.name, rollback_reason=reason
        ) as subject,
        ctx.db.transaction() as session,
    ):
        await deployments_repo.lock_slot(session=session, team_id=actor.team_id, service=service, environment=env.name)
        live = await deployments_repo.current(
            session=session, team_id=actor.team_id, service=service, environment=env.name
        )
        subject.release = live.release_id if live is not None else None
        permissions.check(ctx.policy, env, permissions.Permission.ROLL_BACK, user_id=actor.user_id, members=members)
        live = _to_roll_back(live, service, env, only_if_live)
        restored = await deployments_repo.previous_stable(session=session, team_id=actor.team_id, current=live)
        if restored is None or restored.id is None:
            raise InvalidTransition(
                "{service}@{version} is the only version of {service} that was ever live in {env}, "
                "so there is no earlier version to roll back to. Ship a fix as a new version instead "
                "(`/release propose {service} <version> <summary>`).",
                service=service,
                version=live.version,
                env=env.name,
            )
        release = await lookup.release(session, team_id=actor.team_id, ref=live.release_id, lock=True)
        restored_release = await lookup.release(session, team_id=actor.team_id, ref=restored.release_id)
        deployer = ctx.policy.deployer(service)
        if deployer is not None:  # the deployer puts the earlier version back; CI's report applies the rollback
            ask = deploy_requests.Ask(
                Action.ROLLBACK, restored.version, actor.user_id, reason=reason, commit=restored_release.commit_sha
            )
            requested = await deploy_requests.request(session, ctx, release, env, members, ask)
        else:
            await _apply(session, ctx, actor.user_id, env, reason, release, live, restored, restored_release, members)
    if deployer is not None:
        return requested
    message = Message(
        "Rolled back {env}: {service} {live} → {restored}. {ref} is marked rolled back and stakeholders were told.",
        env=Strong(env.name),
        service=service,
        live=live.version,
        restored=Strong(restored.version),
        ref=release.ref,
    )
    return RollbackOutcome(release, restored, message)


def _to_roll_back(live: Deployment | None, service: str, env: Environment, only_if_live: int | None) -> Deployment:
    if only_if_live is not None and (live is None or live.id != only_if_live):
        raise Conflict(
            "That deployment of {service} is no longer live in {env} (already rolled back or replaced); "
            "nothing changed. See `/release status {service}`.",
            service=service,
            env=env.name,
        )
    if live is None:
        raise NotFound(
            "Nothing of {service} is live in {env}, so there is nothing to roll back. "
            "See what runs where with `/release status {service}`.",
            service=service,
            env=env.name,
        )
    return live


async def request_automatic(
    session: AsyncSession, ctx: ServiceContext, live: Deployment, env: Environment, reason: str, members: Members
) -> DeployRequested:
    """Shipmate itself asks the service's deployer to roll `env` back from `live` (an alert that kept firing), in
    the caller's transaction, the slot locked. Raises `InvalidTransition` when there is nothing to go back to and
    `Conflict` when the slot is already being deployed or rolled back."""
    restored = await deployments_repo.previous_stable(session=session, team_id=live.team_id, current=live)
    if restored is None:
        raise InvalidTransition(
            "{service}@{version} is the only version ever live in {env}: there is nothing to roll back to.",
            service=live.service,
            version=live.version,
            env=env.name,
        )
    release = await lookup.release(session, team_id=live.team_id, ref=live.release_id, lock=True)
    restored_release = await lookup.release(session, team_id=live.team_id, ref=restored.release_id)
    ask = deploy_requests.Ask(
        Action.ROLLBACK, restored.version, AUTOMATIC_ACTOR, reason=reason, commit=restored_release.commit_sha
    )
    return await deploy_requests.request(session, ctx, release, env, members, ask)


async def _apply(
    session: AsyncSession,
    ctx: ServiceContext,
    actor_id: str,
    env: Environment,
    reason: str,
    release: Release,
    live: Deployment,
    restored: Deployment,
    restored_release: Release,
    members: Members,
) -> None:
    """Mark what was live after `restored` as rolled back, move the release, audit, and tell everyone."""
    assert restored.id is not None
    service = release.service
    marked = await deployments_repo.mark_rolled_back(
        session=session,
        team_id=release.team_id,
        service=service,
        environment=env.name,
        after_id=restored.id,
        at=ctx.now(),
        by=actor_id,
        reason=reason,
    )
    details = {"environment": env.name, "reason": reason, "from": live.version, "to": restored.version}
    news = {"actor": actor_id, "environment": env.name, "reason": reason, "restored": restored}
    change = ReleaseChange(
        Audit.ROLLED_BACK,
        {**details, "deployments": marked},
        events=(Event.ROLLED_BACK,),
        thread=post("thread_rolled_back", **news),
        stakeholders=post("stakeholders_rolled_back", restored_release=restored_release, **news),
    )
    facts = Facts(deployment=live)
    await release_state.apply(session, ctx, release, change, actor_id=actor_id, members=members, facts=facts)
    back = ReleaseChange(Audit.RESTORED, details, card=False)  # in the history of the release live again
    await release_state.apply(session, ctx, restored_release, back, actor_id=actor_id, members=members)


async def apply_report(
    session: AsyncSession, ctx: ServiceContext, request: DeploymentRequest, report: CiReport, members: Members
) -> DeployOutcome:
    """CI reports the rollback Shipmate requested (in the caller's transaction, the slot locked): applied when it
    succeeded, only recorded when it failed."""
    env = environment_or_refuse(ctx.policy, request.environment)
    release = await lookup.release(session, team_id=request.team_id, ref=request.release_id, lock=True)
    live = await deployments_repo.current(
        session=session, team_id=request.team_id, service=request.service, environment=env.name
    )
    restored = (
        None
        if live is None
        else await deployments_repo.previous_stable(session=session, team_id=request.team_id, current=live)
    )
    if live is None or restored is None or live.release_id != release.id or restored.version != request.version:
        raise Conflict(
            "{env} changed since the rollback was requested, so the report cannot be applied; "
            "see `/release status {service}`.",
            env=env.name,
            service=request.service,
        )
    if not report.succeeded:
        await deploy_requests.close(session, ctx, request, RequestStatus.FAILED, ci_url=report.url)
        failed = ReleaseChange(None, thread=post("thread_rollback_failed", request=request, url=report.url))
        await release_state.apply(session, ctx, release, failed, actor_id=CI_ACTOR, members=members)
        message = Message("The rollback of {env} failed; {version} is still live.", env=env.name, version=live.version)
        return DeployOutcome(release, live, message)
    await deploy_requests.close(
        session, ctx, request, RequestStatus.SUCCEEDED, deployment_id=restored.id, ci_url=report.url
    )
    restored_release = await lookup.release(session, team_id=request.team_id, ref=restored.release_id)
    await _apply(
        session, ctx, request.requested_by, env, request.reason, release, live, restored, restored_release, members
    )
    message = Message("Rolled back {env} to {version}.", env=env.name, version=restored.version)
    return DeployOutcome(restored_release, restored, message)
