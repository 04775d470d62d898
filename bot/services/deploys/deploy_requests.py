"""Deployments that Shipmate starts. With a deployer in the policy, `/release deploy`, the Deploy button and
`/release rollback` pass the gates and then *request* the deployment: a row, an outbox message for the deployer
(a signed webhook or a GitHub `workflow_dispatch`, sent like Slack messages: retried, never lost) and a timeout
job, all in the caller's transaction. The release shows "deploying…" until CI or GitHub reports, or the time
runs out and the requester is told."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import outgoing
from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.errors import Conflict
from bot.domain.message import Code, Mention, Message, Strong, When
from bot.domain.pipeline import Action, JobKind, OutboxKind, RequestStatus
from bot.domain.policy import Deployer, Environment, Members
from bot.render import render, render_text
from bot.services.kernel import release_state
from bot.services.kernel.context import ServiceContext
from bot.services.kernel.jobs import runs
from storage.models import DeploymentRequest, Release, ScheduledJob
from storage.repositories import audit, jobs, outbox
from storage.repositories import deploy_requests as requests_repo
from storage.repositories import releases as releases_repo


@dataclass(frozen=True)
class DeployRequested:
    """What `/release deploy` or `/release rollback` answers when a deployer will do the work."""

    release: Release
    request: DeploymentRequest
    message: Message


def release_url(release: Release) -> str:
    """A link that opens the release's message in Slack (the channel until the message is posted)."""
    if release.message_ts:
        return f"https://slack.com/archives/{release.channel_id}/p{release.message_ts.replace('.', '')}"
    return f"https://slack.com/app_redirect?channel={release.channel_id}"


def deployer_payload(deployer: Deployer, request: DeploymentRequest, release: Release) -> tuple[str, dict[str, Any]]:
    """The outbox kind and payload the dispatcher sends (signing and tokens are added at send time). A webhook's
    URL may hold a secret: the row names the service (the URL is read from its deployer at send time) and keeps
    the URL redacted, for people reading the outbox."""
    if deployer.webhook:
        body = {
            "action": request.action,
            "service": request.service,
            "version": request.version,
            "commit": request.commit_sha,
            "environment": request.environment,
            "release_url": release_url(release),
            "requested_by": request.requested_by,
            "request_id": request.request_id,
        }
        shown = outgoing.redact(deployer.webhook)
        payload = {"service": request.service, "url": shown, "body": body, "request_id": request.request_id}
        return OutboxKind.DEPLOY_WEBHOOK, payload
    owner, repo, workflow = deployer.workflow
    inputs = {"version": request.version, "environment": request.environment, "shipmate_request_id": request.request_id}
    ref = deployer.ref.replace("{version}", request.version)  # `v{version}`: the run is the release's tagged commit
    payload = {"owner": owner, "repo": repo, "workflow": workflow, "ref": ref, "inputs": inputs}
    return OutboxKind.WORKFLOW_DISPATCH, {**payload, "request_id": request.request_id}


async def refuse_if_busy(
    session: AsyncSession, ctx: ServiceContext, release: Release, env: Environment, action: Action = Action.DEPLOY
) -> None:
    """One request at a time per service × environment: a double click or a second person waits for the first.
    A deployment GitHub started (and Shipmate only follows) never blocks a rollback."""
    busy = await requests_repo.open_for_slot(
        session=session,
        team_id=release.team_id,
        service=release.service,
        environment=env.name,
        requested_only=action == Action.ROLLBACK,
    )
    if busy is not None:
        raise Conflict(
            "{service} is already being {verb} in {env} (request {id}, asked by {who}); "
            "wait until CI reports or the request times out at {deadline}.",
            service=release.service,
            verb="rolled back" if busy.action == Action.ROLLBACK else "deployed",
            env=env.name,
            id=Code(busy.request_id[:12]),
            who=Mention(busy.requested_by),
            deadline=When(busy.deadline_at),
        )


@dataclass(frozen=True)
class Ask:
    """What a person asks a service's deployer to do: deploy `version`, or for a rollback put `version` back."""

    action: Action
    version: str
    actor_id: str
    override_reason: str | None = None
    reason: str = ""
    commit: str | None = None  # the commit of `version`, when known: the deployer deploys exactly that


async def request(
    session: AsyncSession, ctx: ServiceContext, release: Release, env: Environment, members: Members, ask: Ask
) -> DeployRequested:
    """Ask the service's deployer to do `ask` in `env`: the request, the message to the deployer (outbox), its
    timeout job, the audit event and the thread line, in the caller's transaction."""
    deployer = ctx.policy.deployer(release.service)
    assert deployer is not None, "callers check that the service has a deployer"
    await refuse_if_busy(session, ctx, release, env, ask.action)
    row = await _open(session, ctx, release, env, ask, deployer=deployer.kind)
    kind, payload = deployer_payload(deployer, row, release)
    outbox.enqueue(session=session, team_id=release.team_id, kind=kind, payload=payload)
    details: dict[str, str | None] = {"environment": env.name, "action": ask.action.value, "version": ask.version}
    details |= {"request_id": row.request_id, "deployer": deployer.kind}
    details |= {"override": ask.override_reason, "reason": ask.reason or None}
    change = ReleaseChange(
        Audit.DEPLOYMENT_REQUESTED, details, thread=post("thread_deploy_requested", request=row, deployer=deployer)
    )
    await release_state.apply(session, ctx, release, change, actor_id=ask.actor_id, members=members)
    return DeployRequested(release, row, requested_message(release, row, deployer))


async def track(
    session: AsyncSession,
    ctx: ServiceContext,
    release: Release,
    env: Environment,
    members: Members,
    *,
    actor_id: str,
    commit: str | None,
) -> DeploymentRequest | None:
    """A deployment someone else started (GitHub says it is under way): shown as deploying until it reports or
    times out, like one Shipmate requested. None when one is already open for the slot."""
    busy = await requests_repo.open_for_slot(
        session=session, team_id=release.team_id, service=release.service, environment=env.name
    )
    if busy is not None:
        return None
    ask = Ask(Action.DEPLOY, release.version, actor_id, commit=commit)
    row = await _open(session, ctx, release, env, ask, deployer=requests_repo.TRACKED)
    await release_state.touch(session, ctx, release, members)
    return row


async def _open(
    session: AsyncSession, ctx: ServiceContext, release: Release, env: Environment, ask: Ask, *, deployer: str
) -> DeploymentRequest:
    """A new open request, and the job that times it out if nobody reports."""
    now = ctx.now()
    row = requests_repo.add(
        session,
        DeploymentRequest(
            team_id=release.team_id,
            request_id=uuid.uuid4().hex,
            release_id=release.pk,
            service=release.service,
            version=ask.version,
            commit_sha=ask.commit,
            environment=env.name,
            action=ask.action,
            deployer=deployer,
            requested_by=ask.actor_id,
            override_reason=ask.override_reason,
            reason=ask.reason,
            deadline_at=now + ctx.policy.deploy_timeout(release.service),
            created_at=now,
        ),
    )
    await session.flush()
    timeout = jobs.Due(
        kind=JobKind.DEPLOY_TIMEOUT,
        dedupe_key=f"deploy_timeout:{row.request_id}",
        due_at=row.deadline_at,
        target=row.request_id,
        release_id=release.pk,
    )
    await jobs.ensure_all(session=session, team_id=release.team_id, jobs=[timeout])
    return row


def requested_message(release: Release, row: DeploymentRequest, deployer: Deployer) -> Message:
    who = "CI" if deployer.webhook else Message("the GitHub workflow {workflow}", workflow=Code(deployer.workflow[2]))
    verb = "roll back {env} to {version}" if row.action == Action.ROLLBACK else "deploy {ref} to {env}"
    return Message(
        "Requested: {who} will " + verb + " (request {id}). The release shows it as deploying until CI reports; "
        "if nothing is heard by {deadline}, it is marked timed out and you are told.",
        who=who,
        env=Strong(row.environment),
        version=row.version,
        ref=Strong(release.ref),
        id=Code(row.request_id[:12]),
        deadline=When(row.deadline_at),
    )


async def close(
    session: AsyncSession,
    ctx: ServiceContext,
    row: DeploymentRequest,
    status: RequestStatus,
    *,
    deployment_id: int | None = None,
    ci_url: str | None = None,
) -> bool:
    """CI or GitHub reported (or time ran out): the request is closed once and its timeout job dropped."""
    if not await requests_repo.finish(
        session=session, request=row, status=status, at=ctx.now(), deployment_id=deployment_id, ci_url=ci_url
    ):
        return False
    if status is not RequestStatus.TIMED_OUT:
        await jobs.drop(
            session=session,
            team_id=row.team_id,
            kinds=[JobKind.DEPLOY_TIMEOUT],
            dedupe_keys=[f"deploy_timeout:{row.request_id}"],
            reason=f"request {status}",
        )
    audit.append(
        session,
        row.team_id,
        "ci" if status is not RequestStatus.TIMED_OUT else "shipmate",
        Audit.DEPLOYMENT_REQUEST_CLOSED,
        release_id=row.release_id,
        details={"request_id": row.request_id, "status": status.value, "environment": row.environment},
    )
    return True


@runs(JobKind.DEPLOY_TIMEOUT)
async def run_timeouts(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """Requests nobody reported on within `deploy_timeout` (or that could not be delivered): closed as timed
    out, the thread and the requester told, the card no longer shows them deploying."""
    members = await ctx.members(team_id)
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.id or 0 for job in due], worker=worker):
            return
        for job in due:
            row = await requests_repo.by_request_id(session=session, request_id=job.target or "", lock=True)
            if row is None or row.status != RequestStatus.REQUESTED:
                await jobs.finish(session=session, job_ids=[job.id or 0], status="dropped", error="already reported")
                continue
            if not row.last_error and row.deadline_at > ctx.now():  # pulled forward by mistake: wait for the rest
                await jobs.again(session=session, job_id=job.id or 0, due_at=row.deadline_at)
                continue
            await close(session, ctx, row, RequestStatus.TIMED_OUT)
            release = await releases_repo.lock_by_id(session=session, team_id=team_id, release_id=row.release_id)
            assert release is not None
            settings = ctx.policy.services.get(row.service)
            timeout = settings.deploy_timeout if settings else "1h"
            told = ReleaseChange(None, thread=post("thread_deploy_timed_out", request=row, timeout=timeout))
            await release_state.apply(session, ctx, release, told, actor_id="shipmate", members=members)
            text = render_text("deploy_timed_out_dm", release=release, request=row, timeout=timeout)
            if row.requested_by.startswith(("U", "W")):
                outbox.direct(
                    session=session,
                    team_id=team_id,
                    user_id=row.requested_by,
                    payload=render("message", text=text, context=None),
                )
            await jobs.finish(session=session, job_ids=[job.id or 0])


def deploying(requests: Sequence[DeploymentRequest]) -> list[str]:
    """The environments these open requests are deploying to (or rolling back), for the card and lists."""
    return [request.environment for request in requests if request.status == RequestStatus.REQUESTED]
