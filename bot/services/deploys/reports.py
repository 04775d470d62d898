"""CI reports a deployment (`POST /hooks/deployments`, GitHub's `deployment_status`): recorded once per delivery,
through the same gates as a person's unless the environment lets CI bypass them; a report of a deployment Shipmate
requested closes that request instead (its gates were passed when it was asked for).

A report is a claim: it must name the release's recorded commit (when it names one), and a request it names must
be the one Shipmate issued for that service, version and environment. Refusals of either are audited."""

from collections.abc import Awaitable, Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.change import Audit
from bot.domain.commits import CommitMismatch, require_same
from bot.domain.errors import Conflict, GateBlocked, NotFound
from bot.domain.gates import evaluate
from bot.domain.message import Code, Message
from bot.domain.pipeline import Action, RequestMismatch, RequestStatus
from bot.domain.policy import Environment, Members
from bot.services.deploys import deploy_requests, rollbacks
from bot.services.deploys.deployments import (
    CI_ACTOR,
    CiReport,
    DeployOutcome,
    deployment_of,
    environment_or_refuse,
    gate_facts,
    lock_release,
    record,
)
from bot.services.kernel.context import ServiceContext
from bot.slack_text import mrkdwn
from storage.models import Deployment, DeploymentRequest, Release
from storage.repositories import audit
from storage.repositories import deploy_requests as requests_repo
from storage.repositories import deployments as deployments_repo
from storage.repositories import releases as releases_repo

Keep = Callable[[AsyncSession, DeployOutcome], Awaitable[None]]


async def record_from_ci(ctx: ServiceContext, report: CiReport, *, keep: Keep | None = None) -> DeployOutcome:
    """Idempotent on `delivery_id`: a redelivery answers with the deployment recorded the first time. A report of
    a deployment Shipmate requested closes the request (its gates were passed when it was asked for).

    `keep` writes the answer the caller will send, in the recording's transaction, so the delivery's first answer
    can never be lost between the two."""
    env = environment_or_refuse(ctx.policy, report.environment)
    members = await ctx.members(report.team_id)
    try:
        async with ctx.db.transaction() as session:
            outcome = await _record(session, ctx, report, env, members)
            if keep is not None and not outcome.duplicate:
                await keep(session, outcome)
    except (CommitMismatch, RequestMismatch) as refused:
        await _audit_refusal(ctx, report, refused)
        raise
    except IntegrityError:  # the same delivery arrived twice at once; the other one recorded it
        async with ctx.db.read() as session:
            seen = await deployments_repo.by_delivery(
                session=session, team_id=report.team_id, delivery_id=report.delivery_id
            )
            if seen is None:
                raise
            return await _duplicate(session, report.team_id, seen)
    return outcome


async def _record(
    session: AsyncSession, ctx: ServiceContext, report: CiReport, env: Environment, members: Members
) -> DeployOutcome:
    """Load the slot, the release and the request the report answers; then record what it says."""
    await deployments_repo.lock_slot(
        session=session, team_id=report.team_id, service=report.service, environment=env.name
    )
    seen = await deployments_repo.by_delivery(session=session, team_id=report.team_id, delivery_id=report.delivery_id)
    if seen is not None:
        return await _duplicate(session, report.team_id, seen)
    release = await lock_release(session, report.team_id, report.service, report.version)
    request = await _request_of(session, report, env)
    require_same(release.ref, release.commit_sha, report.commit, who="the report")
    if request is not None and request.status in (RequestStatus.SUCCEEDED, RequestStatus.FAILED):
        return await _closed_request(session, request)  # a timed out request may still be reported
    if request is not None and request.action == Action.ROLLBACK:
        return await rollbacks.apply_report(session, ctx, request, report, members)
    bypassed: tuple[str, ...] = ()
    frozen_emergency: str | None = None  # an emergency change's automatic freeze override
    if report.succeeded and request is None:
        bypassed, frozen_emergency = await _passed_gates(session, ctx, release, env, members)
    if request is not None:
        closed_as = RequestStatus.SUCCEEDED if report.succeeded else RequestStatus.FAILED
        await deploy_requests.close(session, ctx, request, closed_as, ci_url=report.url)
    deployment = deployment_of(
        release,
        env,
        ctx,
        actor_id=CI_ACTOR,
        outcome="succeeded" if report.succeeded else "failed",
        ci_url=report.url,
        delivery_id=report.delivery_id,
        bypassed_gates=bool(bypassed),
        override_reason=request.override_reason if request is not None else frozen_emergency,
        commit_at=report.commit_at,
        commit_sha=release.commit_sha or report.commit,
    )
    requested_by = request.requested_by if request is not None else None
    await record(session, ctx, release, env, members, deployment, bypassed=bypassed, requested_by=requested_by)
    if request is not None:
        request.deployment_id = deployment.id
        session.add(request)
    verb = "is live in" if report.succeeded else "failed to deploy to"
    message = Message("{ref} {verb} {env}.", ref=release.ref, verb=verb, env=env.name)
    return DeployOutcome(release, deployment, message, bypassed=bypassed)


async def _passed_gates(
    session: AsyncSession, ctx: ServiceContext, release: Release, env: Environment, members: Members
) -> tuple[tuple[str, ...], str | None]:
    """A report no request stands behind meets every gate; an environment that lets CI bypass them records the
    refusals it bypassed instead."""
    facts = await gate_facts(session, ctx, release, env, actor_id=CI_ACTOR, override_reason=None, members=members)
    blocked = evaluate(facts)
    if blocked and not env.ci_may_bypass_gates:
        raise GateBlocked(release.ref, env.name, blocked)
    override = facts.override_reason if facts.freezes else None
    return tuple(mrkdwn(refusal.message) for refusal in blocked), override  # as the thread shows them


async def _request_of(session: AsyncSession, report: CiReport, env: Environment) -> DeploymentRequest | None:
    """The request this report answers: the one it names (which must be for what the report is about), else the
    open one for this version in the slot."""
    if report.request_id is not None:
        row = await requests_repo.by_request_id(session=session, request_id=report.request_id, lock=True)
        if row is None or row.team_id != report.team_id:
            raise NotFound("Shipmate sent no deployment request {id}.", id=Code(report.request_id, 64))
        asked = (row.service, row.version, row.environment)
        if asked != (report.service, report.version, env.name):
            raise RequestMismatch(
                row.request_id,
                asked=f"{row.service}@{row.version} in {row.environment}",
                reported=f"{report.service}@{report.version} in {env.name}",
            )
        return row
    row = await requests_repo.open_for_slot(
        session=session, team_id=report.team_id, service=report.service, environment=env.name
    )
    return row if row is not None and row.version == report.version else None


async def _audit_refusal(ctx: ServiceContext, report: CiReport, refused: Conflict) -> None:
    """A report refused for naming another commit or another request: on the release it named, for the auditors."""
    async with ctx.db.transaction() as session:
        release = await releases_repo.get(
            session=session, team_id=report.team_id, service=report.service, version=report.version
        )
        audit.append(
            session,
            report.team_id,
            CI_ACTOR if not report.delivery_id.startswith("github:") else "github",
            Audit.REPORT_REFUSED,
            release_id=release.id if release is not None else None,
            details={
                "environment": report.environment,
                "code": refused.code,
                "reason": refused.plain,
                "request_id": report.request_id,
                "commit": report.commit,
                "delivery_id": report.delivery_id,
                "succeeded": report.succeeded,
            },
        )


async def _closed_request(session: AsyncSession, request: DeploymentRequest) -> DeployOutcome:
    """CI reported a request that is closed already: a repeat changes nothing."""
    if request.deployment_id is not None:
        seen = await session.get(Deployment, request.deployment_id)
        if seen is not None:
            return await _duplicate(session, request.team_id, seen)
    raise Conflict(
        "Deployment request {id} is {status} already; nothing changed.",
        id=Code(request.request_id, 64),
        status=request.status.replace("_", " "),
    )


async def _duplicate(session: AsyncSession, team_id: str, seen: Deployment) -> DeployOutcome:
    release = await releases_repo.get_by_id(session=session, team_id=team_id, release_id=seen.release_id)
    assert release is not None
    message = Message(
        "Delivery {delivery} was already recorded as deployment {id}; nothing changed.",
        delivery=seen.delivery_id or "",
        id=seen.id or 0,
    )
    return DeployOutcome(release, seen, message, duplicate=True)
