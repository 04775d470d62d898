"""GitHub speaks natively: `deployment_status` records deployments (once per status) and shows those under way;
`deployment_protection_rule` asks our gates, and we answer GitHub through the outbox: approved, rejected at once
for what no approval fixes soon, or, when only approvals or a sign-off are missing, a durable job that answers as
soon as they are given (changes pull it forward) or rejects at the service's `deploy_timeout`.

A GitHub deployment is its commit: the release is the one whose recorded commit is `deployment.sha`. The ref and
the payload are written by whoever created the deployment (anyone who can push a branch named `v3.0.0` or pass a
payload), so they are hints for messages only; a `shipmate_request_id` in the payload is an id Shipmate issued
and bound to one release, so it names that release, and the sha must still be its commit.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import release_notes
from bot.domain.commits import short
from bot.domain.errors import NotFound
from bot.domain.pipeline import (
    PROTECTION_RECHECK_SECONDS,
    UNDER_WAY,
    UNKNOWN_COMMIT,
    JobKind,
    OutboxKind,
    github_outcome,
    review_comment,
    version_from_payload,
    version_from_ref,
    waitable,
)
from bot.render import render, render_text
from bot.services import deploys
from bot.services.deploys import CiReport, environment_or_refuse
from bot.services.kernel.change_feed import environment_key
from bot.services.kernel.context import ServiceContext
from bot.services.kernel.hooks import HOOKS, Facts
from bot.services.kernel.jobs import runs
from bot.services.pipeline import gate_checks
from bot.services.pipeline.gate_checks import GateQuery, Verdict
from storage.models import DeploymentRequest, Release, ScheduledJob
from storage.repositories import deploy_requests as requests_repo
from storage.repositories import idempotency, jobs, outbox
from storage.repositories import releases as releases_repo

ACTOR = "github"


@dataclass(frozen=True)
class GithubDeployment:
    """What GitHub's signed payload says about a deployment, mapped to our service and environment."""

    team_id: str
    repository: str
    service: str
    environment: str  # the pipeline environment
    github_environment: str
    deployment_id: int
    sha: str
    payload: object = None  # `deployment.payload` as GitHub sent it (written by the deployment's creator)
    ref: str | None = None

    @property
    def request_id(self) -> str | None:
        value = self.payload.get("shipmate_request_id") if isinstance(self.payload, dict) else None
        return value if isinstance(value, str) and value else None

    @property
    def hinted_version(self) -> str | None:
        return version_from_payload(self.payload) or version_from_ref(self.ref)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Handled:
    status: str  # recorded | duplicate | in_progress | approved | rejected | waiting | ignored
    message: str


async def _release(session: AsyncSession, d: GithubDeployment) -> Release | None:
    """The release of the mapped service whose commit is `deployment.sha`. Two versions of one commit: the one
    the payload or ref hints at, else the newest (either way the same code)."""
    found = await releases_repo.with_commit(session=session, team_id=d.team_id, service=d.service, sha=d.sha)
    hinted = d.hinted_version
    return next((release for release in found if release.version == hinted), found[0] if found else None)


def _unknown(d: GithubDeployment) -> str:
    return f"No release of {d.service} has commit {short(d.sha)}; propose it with `--commit {d.sha}`."


async def deployment_status(
    ctx: ServiceContext, d: GithubDeployment, status_id: int, state: str, url: str | None
) -> Handled:
    if state not in UNDER_WAY and github_outcome(state) is None:
        return Handled("ignored", f"A {state} deployment status says nothing about this deployment's outcome.")
    async with ctx.db.read() as session:
        request = await _named_request(session, d)
        release = None if request is not None else await _release(session, d)
    if request is None and release is None:
        return Handled("ignored", _unknown(d))
    version = request.version if request is not None else release.version  # type: ignore[union-attr]
    outcome = github_outcome(state)
    if outcome is not None:
        report = CiReport(
            team_id=d.team_id,
            service=d.service,
            version=version,
            environment=d.environment,
            succeeded=outcome == "succeeded",
            delivery_id=f"github:status:{status_id}",  # the signed status id: a replay under a new delivery is one
            url=url,
            request_id=request.request_id if request is not None else None,
            commit=d.sha,
        )
        recorded = await deploys.record_from_ci(ctx, report)
        return Handled("duplicate" if recorded.duplicate else "recorded", recorded.message.plain())
    env = environment_or_refuse(ctx.policy, d.environment)
    members = await ctx.members(d.team_id)
    async with ctx.db.transaction() as session:
        if not await idempotency.first_time(session=session, team_id=d.team_id, key=f"github:status:{status_id}"):
            return Handled("duplicate", "This deployment status was handled already.")
        locked = await releases_repo.lock(session=session, team_id=d.team_id, service=d.service, version=version)
        if locked is None:
            return Handled("ignored", _unknown(d))
        if locked.commit_sha and locked.commit_sha != d.sha:
            return Handled("ignored", f"{locked.ref} is not commit {short(d.sha)}; not shown as deploying.")
        await deploys.track(session, ctx, locked, env, members, actor_id=ACTOR, commit=d.sha)
    return Handled("in_progress", f"{d.service}@{version} is deploying to {env.name} ({state}).")


async def _named_request(session: AsyncSession, d: GithubDeployment) -> DeploymentRequest | None:
    """The request the payload names, when it is one Shipmate issued for this service and environment; its
    version is what the deployment is, and the report is still checked against that version's commit."""
    if d.request_id is None:
        return None
    row = await requests_repo.by_request_id(session=session, request_id=d.request_id)
    if row is None or (row.team_id, row.service, row.environment) != (d.team_id, d.service, d.environment):
        return None
    return row


def _answer(session: AsyncSession, team_id: str, url: str, environment_name: str, state: str, comment: str) -> None:
    body = {"environment_name": environment_name, "state": state, "comment": comment}
    outbox.enqueue(
        session=session, team_id=team_id, kind=OutboxKind.PROTECTION_REVIEW, payload={"url": url, "body": body}
    )


def _approved(verdict: Verdict) -> str:
    """Names the change class whose rules the gates applied and what the release carries (a class and counts, never
    what people typed)."""
    said = f"Shipmate: {verdict.ref} ({verdict.change_class} change) passed every gate for {verdict.environment}."
    return said if verdict.contents is None else f"{said} {release_notes.for_github(verdict.contents)}"


def _tell_coordination(session: AsyncSession, ctx: ServiceContext, d: GithubDeployment) -> None:
    """The details GitHub is not told (it shows comments to anyone who can read the repository)."""
    channel = ctx.policy.slack.coordination_channel
    if channel is None:
        return
    text = render_text("github_unknown_commit", d=d, hinted=d.hinted_version)
    payload = render("message", text=text, context=None)
    outbox.enqueue(session=session, team_id=d.team_id, kind="post", channel=channel, payload=payload)


async def protection_rule(ctx: ServiceContext, d: GithubDeployment, callback_url: str) -> Handled:
    async with ctx.db.read() as session:
        release = await _release(session, d)
    query = verdict = None
    if release is not None:
        query = GateQuery(d.team_id, d.service, release.version, d.environment, commit=d.sha, source="github")
        verdict = await gate_checks.judge(ctx, query)
    async with ctx.db.transaction() as session:
        key = f"github:protection:{d.deployment_id}:{d.github_environment}"
        if not await idempotency.first_time(session=session, team_id=d.team_id, key=key):
            return Handled("duplicate", "This deployment was answered already.")
        if query is None or verdict is None:
            _answer(session, d.team_id, callback_url, d.github_environment, "rejected", UNKNOWN_COMMIT)
            _tell_coordination(session, ctx, d)
            handled = Handled("rejected", _unknown(d))
        else:
            await gate_checks.record(ctx, [(query, verdict, 0.0)], session=session)
            if verdict.allowed:
                _answer(session, d.team_id, callback_url, d.github_environment, "approved", _approved(verdict))
                handled = Handled("approved", _approved(verdict))
            elif not waitable(verdict.refusals, rejected=verdict.rejected):
                comment = review_comment(verdict.refusals)
                _answer(session, d.team_id, callback_url, d.github_environment, "rejected", comment)
                handled = Handled("rejected", comment)
            else:
                await _wait(session, ctx, d, query, verdict, callback_url)
                handled = Handled("waiting", review_comment(verdict.refusals))
    return handled


async def _wait(
    session: AsyncSession, ctx: ServiceContext, d: GithubDeployment, query: GateQuery, verdict: Verdict, url: str
) -> None:
    now = ctx.now()
    deadline = now + ctx.policy.deploy_timeout(d.service)
    await jobs.ensure(
        session=session,
        team_id=d.team_id,
        kind=JobKind.PROTECTION_RULE,
        dedupe_key=f"protection:{d.deployment_id}:{d.github_environment}",
        due_at=min(deadline, now + timedelta(seconds=PROTECTION_RECHECK_SECONDS)),
        target=d.environment,
        release_id=verdict.release_id,
        payload={
            "url": url,
            "environment_name": d.github_environment,
            "service": d.service,
            "version": query.version,
            "environment": d.environment,
            "commit": d.sha,
            "deadline": deadline.isoformat(),
        },
    )


@runs(JobKind.PROTECTION_RULE)
async def run_protection(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """Judge the waiting protection rules again; answer GitHub when they pass, fail for good, or time runs out."""
    verdicts: dict[int, tuple[GateQuery, Verdict | None]] = {}
    for job in due:
        p = job.payload
        commit = str(p["commit"]) if p.get("commit") else None
        service, version, environment = str(p["service"]), str(p["version"]), str(p["environment"])
        query = GateQuery(team_id, service, version, environment, commit=commit, source="github")
        try:
            verdicts[job.pk] = (query, await gate_checks.judge(ctx, query))
        except NotFound:  # the release or the environment is gone
            verdicts[job.pk] = (query, None)
    now = ctx.now()
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.pk for job in due], worker=worker):
            return
        for job in due:
            query, verdict = verdicts[job.pk]
            url, name = str(job.payload["url"]), str(job.payload["environment_name"])
            deadline = datetime.fromisoformat(str(job.payload["deadline"]))
            if verdict is None:
                _answer(session, team_id, url, name, "rejected", "Shipmate: the release no longer exists.")
            elif verdict.allowed:
                await gate_checks.record(ctx, [(query, verdict, 0.0)], session=session)
                _answer(session, team_id, url, name, "approved", _approved(verdict))
            elif not waitable(verdict.refusals, rejected=verdict.rejected) or now >= deadline:
                await gate_checks.record(ctx, [(query, verdict, 0.0)], session=session)
                comment = review_comment(verdict.refusals)
                if now >= deadline:
                    comment = "Still blocked at the deploy timeout. " + comment
                _answer(session, team_id, url, name, "rejected", comment)
            else:
                later = min(deadline, now + timedelta(seconds=PROTECTION_RECHECK_SECONDS))
                await jobs.again(session=session, job_id=job.pk, due_at=later)
                continue
            await jobs.finish(session=session, job_ids=[job.pk])


@HOOKS.after_any
async def _changed(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    """A release changed: its waiting protection rules (durable jobs, any process) look again at the next sweep.
    Only a service with a GitHub repository can have any (they wait on its deployments); were the repository
    unmapped since, a rule still looks again at its own time."""
    if ctx.policy.repository(release.service) is None:
        return
    await jobs.pull_forward(
        session=session, team_id=release.team_id, release_id=release.pk, kinds=[JobKind.PROTECTION_RULE], at=ctx.now()
    )


@HOOKS.after_freeze
async def _unfrozen(session: AsyncSession, ctx: ServiceContext, team_id: str, environment: str) -> None:
    """A freeze was lifted: waiting gate checks of that environment (this process) and protection rules look again."""
    ctx.changes.after_commit(session, environment_key(team_id, environment))
    await jobs.pull_forward(session=session, team_id=team_id, kinds=[JobKind.PROTECTION_RULE], at=ctx.now())
