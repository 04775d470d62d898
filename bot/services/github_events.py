"""GitHub speaks natively: `deployment_status` records deployments (once per delivery) and shows those under way;
`deployment_protection_rule` asks our gates, and we answer GitHub through the outbox: approved, rejected at once
for what no approval fixes soon, or, when only approvals or a sign-off are missing, a durable job that answers as
soon as they are given (changes pull it forward) or rejects at the service's `deploy_timeout`."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.errors import NotFound
from bot.domain.pipeline import (
    PROTECTION_RECHECK_SECONDS,
    JobKind,
    OutboxKind,
    github_outcome,
    review_comment,
    version_from_payload,
    version_from_ref,
    waitable,
)
from bot.services import ci_reports, deploy_requests, gate_checks
from bot.services.context import ServiceContext
from bot.services.deployments import CiReport, environment_or_refuse
from bot.services.gate_checks import GateQuery, Verdict
from storage.models import Release, ScheduledJob
from storage.repositories import deploy_requests as requests_repo
from storage.repositories import idempotency, jobs, outbox
from storage.repositories import releases as releases_repo

ACTOR = "github"


@dataclass(frozen=True)
class GithubDeployment:
    """What GitHub's payload says about a deployment, mapped to our service and environment."""

    team_id: str
    delivery: str
    service: str
    environment: str  # the pipeline environment
    github_environment: str
    payload: object = None  # `deployment.payload` as GitHub sent it
    ref: str | None = None
    sha: str | None = None

    @property
    def request_id(self) -> str | None:
        value = self.payload.get("shipmate_request_id") if isinstance(self.payload, dict) else None
        return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Handled:
    status: str  # recorded | duplicate | in_progress | approved | rejected | waiting | ignored
    message: str


async def _release(session: AsyncSession, d: GithubDeployment) -> Release | None:
    """`deployment.payload.version`, else the tag in `deployment.ref`, else the release built from `deployment.sha`."""
    for version in (version_from_payload(d.payload), version_from_ref(d.ref)):  # type: ignore[arg-type]
        if version:
            found = await releases_repo.get(session=session, team_id=d.team_id, service=d.service, version=version)
            if found is not None:
                return found
    if d.sha:
        return await requests_repo.release_by_commit(session=session, team_id=d.team_id, service=d.service, sha=d.sha)
    return None


def _unknown(d: GithubDeployment) -> str:
    return (
        f"Shipmate knows no release of {d.service} for this deployment (payload version, ref {d.ref!r} and commit "
        f"{(d.sha or '')[:12]} match none). Propose it, or pass the version in the deployment payload."
    )


async def deployment_status(ctx: ServiceContext, d: GithubDeployment, state: str, url: str | None) -> Handled:
    async with ctx.db.read() as session:
        release = await _release(session, d)
    if release is None:
        return Handled("ignored", _unknown(d))
    outcome = github_outcome(state)
    if outcome is not None:
        report = CiReport(
            team_id=d.team_id,
            service=d.service,
            version=release.version,
            environment=d.environment,
            succeeded=outcome == "succeeded",
            delivery_id=f"github:{d.delivery}",
            url=url,
            request_id=d.request_id,
        )
        recorded = await ci_reports.record_from_ci(ctx, report)
        return Handled("duplicate" if recorded.duplicate else "recorded", recorded.message.plain())
    env = environment_or_refuse(ctx.policy, d.environment)
    members = await ctx.members(d.team_id)
    async with ctx.db.transaction() as session:
        if not await idempotency.first_time(session=session, team_id=d.team_id, key=f"github:{d.delivery}"):
            return Handled("duplicate", "This delivery was handled already.")
        locked = await releases_repo.lock_by_id(session=session, team_id=d.team_id, release_id=release.pk)
        assert locked is not None
        await deploy_requests.track(session, ctx, locked, env, members, actor_id=ACTOR)
    ctx.kick()
    return Handled("in_progress", f"{release.ref} is deploying to {env.name} ({state}).")


def _answer(session: AsyncSession, team_id: str, url: str, environment_name: str, state: str, comment: str) -> None:
    body = {"environment_name": environment_name, "state": state, "comment": comment}
    outbox.enqueue(
        session=session, team_id=team_id, kind=OutboxKind.PROTECTION_REVIEW, payload={"url": url, "body": body}
    )


def _approved(verdict: Verdict) -> str:
    return f"Shipmate: {verdict.ref} passed every gate for {verdict.environment}."


async def protection_rule(ctx: ServiceContext, d: GithubDeployment, callback_url: str) -> Handled:
    async with ctx.db.read() as session:
        release = await _release(session, d)
    query = None
    verdict = None
    if release is not None:
        query = GateQuery(d.team_id, d.service, release.version, d.environment, source="github")
        verdict = await gate_checks.judge(ctx, query)
    async with ctx.db.transaction() as session:
        if not await idempotency.first_time(session=session, team_id=d.team_id, key=f"github:{d.delivery}"):
            return Handled("duplicate", "This delivery was handled already.")
        if query is None or verdict is None:
            _answer(session, d.team_id, callback_url, d.github_environment, "rejected", _unknown(d))
            handled = Handled("rejected", _unknown(d))
        else:
            await gate_checks.record(ctx, [(query, verdict, 0.0)], session=session)
            reasons = [reason["message"] for reason in verdict.reasons()]
            if verdict.allowed:
                _answer(session, d.team_id, callback_url, d.github_environment, "approved", _approved(verdict))
                handled = Handled("approved", _approved(verdict))
            elif not waitable(verdict.refusals, rejected=verdict.rejected):
                comment = review_comment(reasons)
                _answer(session, d.team_id, callback_url, d.github_environment, "rejected", comment)
                handled = Handled("rejected", comment)
            else:
                now = ctx.now()
                deadline = now + ctx.policy.deploy_timeout(d.service)
                await jobs.ensure(
                    session=session,
                    team_id=d.team_id,
                    kind=JobKind.PROTECTION_RULE,
                    dedupe_key=f"protection:{d.delivery}",
                    due_at=min(deadline, now + timedelta(seconds=PROTECTION_RECHECK_SECONDS)),
                    target=d.environment,
                    release_id=verdict.release_id,
                    payload={
                        "url": callback_url,
                        "environment_name": d.github_environment,
                        "service": d.service,
                        "version": release.version if release else "",
                        "environment": d.environment,
                        "deadline": deadline.isoformat(),
                    },
                )
                handled = Handled("waiting", review_comment(reasons))
    ctx.kick()
    return handled


async def run_protection(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """Judge the waiting protection rules again; answer GitHub when they pass, fail for good, or time runs out."""
    verdicts: dict[int, tuple[GateQuery, Verdict | None]] = {}
    for job in due:
        p = job.payload
        query = GateQuery(team_id, str(p["service"]), str(p["version"]), str(p["environment"]), source="github")
        try:
            verdicts[job.id or 0] = (query, await gate_checks.judge(ctx, query))
        except NotFound:  # the release or the environment is gone
            verdicts[job.id or 0] = (query, None)
    now = ctx.now()
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.id or 0 for job in due], worker=worker):
            return
        for job in due:
            query, verdict = verdicts[job.id or 0]
            url, name = str(job.payload["url"]), str(job.payload["environment_name"])
            deadline = datetime.fromisoformat(str(job.payload["deadline"]))
            if verdict is None:
                _answer(session, team_id, url, name, "rejected", f"{query.service}@{query.version} no longer exists.")
            elif verdict.allowed:
                await gate_checks.record(ctx, [(query, verdict, 0.0)], session=session)
                _answer(session, team_id, url, name, "approved", _approved(verdict))
            elif not waitable(verdict.refusals, rejected=verdict.rejected) or now >= deadline:
                await gate_checks.record(ctx, [(query, verdict, 0.0)], session=session)
                reasons = [reason["message"] for reason in verdict.reasons()]
                if now >= deadline:
                    reasons.insert(0, "Still blocked at the deploy timeout:")
                _answer(session, team_id, url, name, "rejected", review_comment(reasons))
            else:
                later = min(deadline, now + timedelta(seconds=PROTECTION_RECHECK_SECONDS))
                await jobs.again(session=session, job_id=job.id or 0, due_at=later)
                continue
            await jobs.finish(session=session, job_ids=[job.id or 0])
    ctx.kick()
