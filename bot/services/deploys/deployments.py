"""Deployments: a person (command or button) or CI records a release going into an environment.

A person may deploy only as `bot.domain.permissions` says (the environment's deployers, or its approvers when it
lists none, and release managers; the proposer only where no approvals are needed). CI, authenticated by the
webhook secret, is the pipeline itself, not a person: it passes the gates but no role check.

Every deployment passes the gates in `bot.domain.gates` unless CI deploys to an environment whose policy says
`ci_may_bypass_gates`; then it is recorded with `bypassed_gates` and flagged in the thread. Order of locks, here
and in rollbacks: the service × environment slot first, then the release row.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import approval_policy, change_classes, permissions
from bot.domain.approval_policy import ApprovalState
from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.errors import Conflict, GateBlocked, InvalidInput, NotFound
from bot.domain.gates import GateFacts, evaluate
from bot.domain.lifecycle import Event
from bot.domain.message import Code, Message, Strong
from bot.domain.pipeline import Action
from bot.domain.policy import Environment, Members, Policy, includes
from bot.domain.validation import ReleaseRef, is_number
from bot.services import change
from bot.services.deploys import deploy_requests
from bot.services.deploys.deploy_requests import DeployRequested
from bot.services.kernel import health_facts, lookup, refusals, release_state
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.kernel.hooks import Facts
from storage.models import Deployment, Release
from storage.repositories import alerts as alerts_repo
from storage.repositories import approvals as approvals_repo
from storage.repositories import deployments as deployments_repo
from storage.repositories import releases as releases_repo
from storage.repositories import verifications as verifications_repo

CI_ACTOR = "ci"


@dataclass(frozen=True)
class DeployOutcome:
    release: Release
    deployment: Deployment
    message: Message
    duplicate: bool = False
    bypassed: tuple[str, ...] = ()


@dataclass(frozen=True)
class CiReport:
    """What a pipeline tells us through `POST /hooks/deployments` (already validated)."""

    team_id: str
    service: str
    version: str
    environment: str
    succeeded: bool
    delivery_id: str
    url: str | None = None
    request_id: str | None = None  # the deployment request Shipmate sent, when CI carried one out
    commit_at: datetime | None = None  # when the change was committed (lead time for changes)
    commit: str | None = None  # the commit CI says it deployed: must be the release's


def environment_or_refuse(policy: Policy, name: str) -> Environment:
    env = policy.environment(name)
    if env is None:
        pipeline = " → ".join(policy.environment_names)
        raise NotFound(
            "There is no environment {name}; the pipeline is {pipeline}.", name=Code(name, 30), pipeline=pipeline
        )
    return env


async def gate_facts(
    session: AsyncSession,
    ctx: ServiceContext,
    release: Release,
    env: Environment,
    *,
    actor_id: str,
    override_reason: str | None,
    members: Members,
    acting_for: frozenset[str] = frozenset(),
) -> GateFacts:
    """Everything the gates look at, read in the caller's transaction. A lock lets through a person who holds it;
    CI passes one held by the release's proposer or by whoever `acting_for` names (the person who asked Shipmate's
    deployer for this deployment)."""
    previous = ctx.policy.previous_environment(env.name)
    deployed = await deployments_repo.for_release(session=session, team_id=release.team_id, release_id=release.pk)
    approval_state = await _approval_state(session, ctx, release, env, members)
    regression_passed, failed_note = await _regression(session, release, previous)
    freezes = await change.active_freezes(session, ctx, team_id=release.team_id, environment=env.name, at=ctx.now())
    locks = await _lock_facts(session, ctx, release, env, actor_id, members, acting_for)
    alerts = list(await alerts_repo.counted_for(session=session, team_id=release.team_id, release_id=release.pk))
    soak = await health_facts.soak(session, ctx.policy, release, env, now=ctx.now(), alerts=alerts)
    if freezes and release.change_class == change_classes.ChangeClass.EMERGENCY:
        override_reason = override_reason or change_classes.EMERGENCY_OVERRIDE  # recorded like any override
    return GateFacts(
        ref=release.ref,
        status=release.status,
        environment=env,
        previous_environment=previous.name if previous else None,
        deployed_to_previous=previous is not None
        and any(d.environment == previous.name and d.outcome == deployments_repo.SUCCEEDED for d in deployed),
        approvals=approval_state,
        regression_passed_in_previous=regression_passed,
        regression_failed_note=failed_note,
        freezes=freezes,
        override_reason=override_reason,
        actor_is_release_manager=actor_id != CI_ACTOR
        and permissions.rule(None, permissions.Permission.OVERRIDE_FREEZE).admits(
            actor_id, members, ctx.policy.release_managers
        ),
        service=release.service,
        **locks,
        soak=soak,
        held_by_alerts=health_facts.holding(alerts),
        change_class=release.change_class,
        cab_needed=ctx.policy.is_final(env.name) and change_classes.needs_cab(ctx.policy, release),
        cab_decision=release.cab_decision,
    )


async def _approval_state(
    session: AsyncSession, ctx: ServiceContext, release: Release, env: Environment, members: Members
) -> ApprovalState | None:
    """The environment's approvals under the quorum the release's class and risk make (None: it needs none)."""
    view = change_classes.view(ctx.policy, release)
    if not (view.environment(env.name) or env).needs_approval:
        return None
    decisions = await approvals_repo.active(session=session, team_id=release.team_id, release_id=release.pk)
    states = approval_policy.states(
        view,
        proposer_id=release.proposer_id,
        decisions=decisions,
        members=members,
        scope_authors=approval_policy.authors_of(release.scope_authors),
    )
    return next(state for state in states if state.environment == env.name)


async def _regression(
    session: AsyncSession, release: Release, previous: Environment | None
) -> tuple[bool | None, str | None]:
    """Whether the previous environment's regression sign-off passed (None: it needs none), and a failure's note."""
    if previous is None or not previous.regression_required:
        return None, None
    latest = await verifications_repo.latest(
        session=session, team_id=release.team_id, release_id=release.pk, environment=previous.name
    )
    passed = latest is not None and latest.passed
    return passed, latest.note if latest is not None and not latest.passed else None


async def _lock_facts(
    session: AsyncSession,
    ctx: ServiceContext,
    release: Release,
    env: Environment,
    actor_id: str,
    members: Members,
    acting_for: frozenset[str],
) -> dict[str, Any]:
    """The deploy locks covering the release here, whom the deployment is done for, and whether the actor is in
    `[locks] bypass` (people only)."""
    person = actor_id != CI_ACTOR
    return {
        "locks": await change.active_locks(
            session, team_id=release.team_id, service=release.service, environment=env.name, at=ctx.now()
        ),
        "lock_acting_for": frozenset({actor_id}) if person else frozenset({release.proposer_id}) | acting_for,
        "lock_bypass": person and includes(ctx.policy.locks.bypass, actor_id, members),
    }


async def lock_release(session: AsyncSession, team_id: str, service: str, version: str) -> Release:
    release = await releases_repo.lock(session=session, team_id=team_id, service=service, version=version)
    if release is None:
        raise NotFound(
            "There is no release {service}@{version}. Propose it first with "
            "`/release propose {service} {version} <summary>`.",
            service=service,
            version=version,
        )
    return release


async def deploy(
    ctx: ServiceContext, actor: Actor, ref: ReleaseRef, environment: str, override_reason: str | None = None
) -> DeployOutcome | DeployRequested:
    env = environment_or_refuse(ctx.policy, environment)
    members = await ctx.members(actor.team_id)
    async with (
        refusals.audited(ctx, actor, "deploy", release=ref, environment=env.name),
        ctx.db.transaction() as session,
    ):
        release, facts = await _passed(session, ctx, actor, ref, env, override_reason, members)
        change.record_bypass(session, actor, release.pk, facts)
        used_override = facts.override_reason if facts.freezes or skips_soak(facts) else None
        deployer = ctx.policy.deployer(release.service)
        if deployer is not None:  # the deployer does the work; CI (or GitHub) reports it
            ask = deploy_requests.Ask(
                Action.DEPLOY, release.version, actor.user_id, override_reason=used_override, commit=release.commit_sha
            )
            requested = await deploy_requests.request(session, ctx, release, env, members, ask)
        else:  # no deployer: the person records the deployment
            deployment = await record(
                session,
                ctx,
                release,
                env,
                members,
                deployment_of(release, env, ctx, actor_id=actor.user_id, override_reason=used_override),
                freeze_label=facts.freezes[0].label if used_override and facts.freezes else None,
            )
    if deployer is not None:
        return requested
    return DeployOutcome(release, deployment, _recorded(ctx.policy, release, env, override_reason, used_override))


async def _passed(
    session: AsyncSession,
    ctx: ServiceContext,
    actor: Actor,
    ref: ReleaseRef,
    env: Environment,
    override_reason: str | None,
    members: Members,
) -> tuple[Release, GateFacts]:
    """The release, locked with its slot, once this person may deploy it to `env` and every gate passes."""
    await deployments_repo.lock_slot(session=session, team_id=actor.team_id, service=ref.service, environment=env.name)
    release = await lock_release(session, actor.team_id, ref.service, ref.version)
    permissions.check(
        ctx.policy,
        env,
        permissions.Permission.DEPLOY,
        user_id=actor.user_id,
        members=members,
        ref=release.ref,
        proposer_id=release.proposer_id,
    )
    live = await deployments_repo.current(
        session=session, team_id=actor.team_id, service=ref.service, environment=env.name
    )
    if live is not None and live.release_id == release.pk:
        raise Conflict("{ref} is already live in {env}; nothing changed.", ref=release.ref, env=env.name)
    facts = await gate_facts(
        session, ctx, release, env, actor_id=actor.user_id, override_reason=override_reason, members=members
    )
    blocked = evaluate(facts)
    if blocked:
        raise GateBlocked(release.ref, env.name, blocked)
    return release, facts


def skips_soak(facts: GateFacts) -> bool:
    """The deployment goes ahead on an override of a soak that is not met (a release manager's, audited)."""
    return facts.soak is not None and not facts.soak.met and facts.deployed_to_previous and bool(facts.override_reason)


def _recorded(
    policy: Policy, release: Release, env: Environment, override_reason: str | None, used_override: str | None
) -> Message:
    note: Message | str = ""
    if override_reason and not used_override:
        note = Message("\n{env} is not frozen, so no override was needed; none was recorded.", env=env.name)
    elif used_override:
        note = "\nYour freeze override is in the audit history and stakeholders were told."
    return Message(
        "Recorded: {ref} is live in {env}. {next}{note}",
        ref=Strong(release.ref),
        env=Strong(env.name),
        next=next_step(policy, release, env),
        note=note,
    )


async def deploy_by_id(ctx: ServiceContext, actor: Actor, value: str) -> DeployOutcome | DeployRequested:
    """The "Deploy to <env>" button: its value is `<release_id>:<env>`."""
    release_id, _, environment = value.partition(":")
    if not is_number(release_id) or not environment:
        raise InvalidInput("That button is out of date; use `/release deploy <service@version> <env>` instead.")
    async with ctx.db.read() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=int(release_id))
    return await deploy(ctx, actor, ReleaseRef(release.service, release.version), environment)


def next_step(policy: Policy, release: Release, env: Environment) -> Message:
    if env.regression_required:
        return Message(
            "Next: regression sign-off (`/release verify {ref} {env} passed|failed`).", ref=release.ref, env=env.name
        )
    names = policy.environment_names
    if env.name == names[-1]:
        return Message("Stakeholders have been told it is live.")
    following = names[names.index(env.name) + 1]
    return Message("Next: `/release deploy {ref} {env}`.", ref=release.ref, env=following)


def deployment_of(
    release: Release, env: Environment, ctx: ServiceContext, *, actor_id: str, **details: Any
) -> Deployment:
    """A deployment of `release` into `env` by `actor_id` (a person, or CI with its run's details), now."""
    details.setdefault("commit_sha", release.commit_sha)
    return Deployment(
        team_id=release.team_id,
        release_id=release.pk,
        service=release.service,
        version=release.version,
        environment=env.name,
        actor_id=actor_id,
        created_at=ctx.now(),
        **details,
    )


def _start_retro(ctx: ServiceContext, release: Release, deployment: Deployment, *, final: bool) -> dict[str, str]:
    """An emergency change in the final environment now owes its full approval, due `[emergency] retro_within`."""
    if not final or deployment.outcome != deployments_repo.SUCCEEDED or not change_classes.owes_retro(release):
        return {}
    release.retro_due_at = deployment.created_at + ctx.policy.emergency.retro_delay
    return {"retro_due": release.retro_due_at.isoformat()}


async def record(
    session: AsyncSession,
    ctx: ServiceContext,
    release: Release,
    env: Environment,
    members: Members,
    deployment: Deployment,
    *,
    bypassed: tuple[str, ...] = (),
    freeze_label: str | None = None,
    requested_by: str | None = None,
) -> Deployment:
    """Write the deployment, move the release, audit, and owe the thread, stakeholders and card their news."""
    if deployment.commit_at is None:  # the commit time CI reported for an earlier environment still holds
        deployment.commit_at = await deployments_repo.first_commit_at(
            session=session, team_id=release.team_id, release_id=release.pk
        )
    deployments_repo.add(session, deployment)
    await session.flush()
    succeeded, final = deployment.outcome == deployments_repo.SUCCEEDED, ctx.policy.is_final(env.name)
    if succeeded:
        live_before = await deployments_repo.previous_stable(
            session=session, team_id=release.team_id, current=deployment
        )
    else:
        live_before = await deployments_repo.current(
            session=session, team_id=release.team_id, service=release.service, environment=env.name
        )
    news = {"deployment": deployment, "freeze_label": freeze_label}
    change = ReleaseChange(
        Audit.DEPLOYED,
        {
            "environment": env.name,
            "deployment_id": deployment.id,
            "outcome": deployment.outcome,
            "override": deployment.override_reason,
            "freeze": freeze_label,
            "bypassed_gates": list(bypassed),
            "ci_url": deployment.ci_url,
            "delivery_id": deployment.delivery_id,
            "commit": deployment.commit_sha,
            **_start_retro(ctx, release, deployment, final=final),
        },
        events=((Event.DEPLOYED_FINAL if final else Event.DEPLOYED),) if succeeded else (),
        thread=post(
            "thread_deployed",
            requested_by=requested_by,
            bypassed=list(bypassed),
            live=live_before.version if live_before else None,
            **news,
        ),
        stakeholders=post(
            "stakeholders_deployed", final=final, replaced=live_before.version if live_before else None, **news
        )
        if succeeded and (final or deployment.override_reason)
        else None,
    )
    facts = Facts(deployment=deployment)
    await release_state.apply(session, ctx, release, change, actor_id=deployment.actor_id, members=members, facts=facts)
    return deployment
