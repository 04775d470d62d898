"""A pipeline asks before it deploys (`POST /api/v1/gate`, GitHub's protection rules): the same gates a person
meets (`deployments.gate_facts` + `gates.evaluate`), judged for CI, and every answer audited on the release.

What the pipeline says is a claim: a check must name the release's recorded commit (when it has one), and a
deployment request it names must be the one Shipmate issued for this release, environment and action."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import change_classes
from bot.domain.change import Audit
from bot.domain.commits import CommitMismatch, short
from bot.domain.errors import Refusal
from bot.domain.gates import GateFacts, evaluate
from bot.domain.message import Code, Message
from bot.domain.pipeline import Action, RequestStatus
from bot.domain.release_notes import Notes
from bot.domain.validation import ReleaseRef
from bot.services.deploys import CI_ACTOR, environment_or_refuse, gate_facts
from bot.services.kernel import lookup, release_card
from bot.services.kernel.context import ServiceContext
from storage.models import DeploymentRequest, Release
from storage.repositories import audit
from storage.repositories import deploy_requests as requests_repo
from storage.repositories import releases as releases_repo


@dataclass(frozen=True)
class GateQuery:
    """What a pipeline asks (already validated): may `service@version` go to `environment` now?"""

    team_id: str
    service: str
    version: str
    environment: str
    wait_seconds: int = 0
    request_id: str | None = None  # the deployment request Shipmate sent, when CI runs one
    commit: str | None = None  # the commit being deployed: must be the release's
    source: str = "api"  # api | github


@dataclass(frozen=True)
class Verdict:
    release_id: int
    ref: str
    environment: str
    refusals: tuple[Refusal, ...]
    rejected: bool  # someone rejected the release: no approval lifts that
    row_version: int  # the release as judged; a newer version is worth judging again
    freeze_ends: datetime | None  # a freeze (or the soak) refuses until then
    commit: str | None = None  # the release's recorded commit; None: it cannot be checked by commit
    contents: Notes | None = None  # what the release carries (its computed notes), when known
    change_class: str = "normal"  # standard | normal | emergency: whose rules the gates applied
    change_class_text: str = ""  # the class in words ("Standard change: …, pre-authorised by @U0RM on …")

    @property
    def allowed(self) -> bool:
        return not self.refusals

    @property
    def commit_mismatch(self) -> bool:
        return any(refusal.gate == COMMIT_GATE and refusal.public == OTHER_COMMIT for refusal in self.refusals)

    def reasons(self) -> list[dict[str, str]]:
        return [{"gate": refusal.gate, "message": refusal.message.plain()} for refusal in self.refusals]


COMMIT_GATE = "commit"
OTHER_COMMIT = "another commit than the release's"


def commit_refusal(release: Release, claimed: str | None) -> Refusal | None:
    """A release with a recorded commit is deployed only as that commit, and the check must say which it is."""
    if not release.commit_sha:
        return None
    if claimed is None:
        return Refusal(
            COMMIT_GATE,
            Message(
                "{ref} is commit {sha}: send the commit you deploy with the check (`commit`, 40 hex digits, "
                "`git rev-parse HEAD`).",
                ref=release.ref,
                sha=Code(short(release.commit_sha)),
            ),
            "no commit given",
        )
    if claimed.lower() != release.commit_sha:
        mismatch = CommitMismatch(release.ref, release.commit_sha, claimed, who="this check")
        return Refusal(COMMIT_GATE, mismatch.text, OTHER_COMMIT)
    return None


def _request_refusal(request_id: str, status: str | None, release: Release, environment: str) -> Refusal:
    if status is None:
        return Refusal(
            "request",
            Message(
                "Shipmate sent no deployment request {id} to deploy {ref} to {env}.",
                id=Code(request_id, 64),
                ref=release.ref,
                env=environment,
            ),
            "not a deployment request Shipmate issued for this release",
        )
    return Refusal(
        "request",
        Message(
            "Deployment request {id} for {ref} in {env} is {status} already; this run is a repeat and should stop.",
            id=Code(request_id, 64),
            ref=release.ref,
            env=environment,
            status=status.replace("_", " "),
        ),
        "a repeated deployment request",
    )


async def judge(ctx: ServiceContext, query: GateQuery) -> Verdict:
    """The gates' verdict now, read in one short transaction (no connection is held between looks)."""
    env = environment_or_refuse(ctx.policy, query.environment)
    members = await ctx.members(query.team_id)
    async with ctx.db.read() as session:
        release = await lookup.release(session, team_id=query.team_id, ref=ReleaseRef(query.service, query.version))
        request = None
        if query.request_id is not None:
            request = await requests_repo.by_request_id(session=session, request_id=query.request_id)
        # A deploy lock lets CI through when the person whose deployment request this run carries out holds it.
        asked_by = request.requested_by if request is not None and request.release_id == release.pk else None
        facts = await gate_facts(
            session,
            ctx,
            release,
            env,
            actor_id=CI_ACTOR,
            override_reason=None,
            members=members,
            acting_for=frozenset({asked_by}) if asked_by else frozenset(),
        )
        refusals = evaluate(facts)
        if (wrong_commit := commit_refusal(release, query.commit)) is not None:
            refusals.append(wrong_commit)
        if query.request_id is not None:
            refusals = _bound_to_request(query, request, release, env.name, refusals)
        contents = await release_card.brief_of(session, ctx.policy, release)
    rejected = facts.approvals is not None and bool(facts.approvals.rejected_by)
    return Verdict(
        release.pk,
        release.ref,
        env.name,
        tuple(refusals),
        rejected,
        release.row_version,
        _clock_ends(facts, refusals),
        release.commit_sha,
        contents,
        release.change_class,
        change_classes.describe(ctx.policy, release).plain(),
    )


Outcome = tuple[bool, tuple[str, ...]]  # allowed, and the refusing gates


def _outcome(allowed: bool, gates: Iterable[str]) -> Outcome:
    return allowed, tuple(sorted(set(gates)))


async def _last_outcome(session: AsyncSession, team_id: str, release_id: int, env: str, source: str) -> Outcome | None:
    """What the newest `gate_checked` event of this release, environment and source said, if there is one."""
    last = await audit.latest(
        session=session,
        team_id=team_id,
        release_id=release_id,
        action=Audit.GATE_CHECKED,
        details={"environment": env, "source": source},
    )
    if last is None:
        return None
    return _outcome(bool(last.details.get("allowed")), (r.get("gate", "") for r in last.details.get("reasons", [])))


async def record(
    ctx: ServiceContext, answered: Sequence[tuple[GateQuery, Verdict, float]], *, session: AsyncSession | None = None
) -> None:
    """Audit the answers on their releases once per outcome change: an answer whose outcome (allowed, and which
    gates refuse) is the newest `gate_checked` event's for its release, environment and source adds nothing, so a
    pipeline that asks every few seconds leaves one line per change in the history. One transaction for many."""
    if session is None:
        async with ctx.db.transaction() as own:
            await record(ctx, answered, session=own)
        return
    known: dict[tuple[int, str, str], Outcome | None] = {}  # the newest outcome per key, as this call leaves it
    for query, verdict, waited in answered:
        key = (verdict.release_id, verdict.environment, query.source)
        if key not in known:
            # The release held until commit: another process's check reads the newest event only after ours.
            await releases_repo.hold(session=session, team_id=query.team_id, release_id=verdict.release_id)
            known[key] = await _last_outcome(session, query.team_id, *key)
        outcome = _outcome(verdict.allowed, (refusal.gate for refusal in verdict.refusals))
        if known[key] != outcome:
            known[key] = outcome
            audit.append(
                session,
                query.team_id,
                CI_ACTOR if query.source == "api" else "github",
                Audit.GATE_CHECKED,
                release_id=verdict.release_id,
                details={
                    "environment": verdict.environment,
                    "allowed": verdict.allowed,
                    "reasons": verdict.reasons(),
                    "waited_seconds": round(waited, 3),
                    "wait_seconds": query.wait_seconds,
                    "request_id": query.request_id,
                    "commit": query.commit,
                    "source": query.source,
                },
            )


async def check(ctx: ServiceContext, query: GateQuery) -> Verdict:
    """Judge and audit at once (no waiting)."""
    verdict = await judge(ctx, query)
    await record(ctx, [(query, verdict, 0.0)])
    return verdict


def _bound_to_request(
    query: GateQuery,
    request: DeploymentRequest | None,
    release: Release,
    environment: str,
    refusals: list[Refusal],
) -> list[Refusal]:
    """A request is bound to the release, environment and action it was issued for: an override given for one never
    lifts a freeze (or a soak) for another."""
    bound = request is not None and (request.team_id, request.release_id, request.environment, request.action) == (
        query.team_id,
        release.pk,
        environment,
        Action.DEPLOY,
    )
    if request is None or not bound or request.status != RequestStatus.REQUESTED:
        status = request.status if request is not None and bound else None
        return [*refusals, _request_refusal(str(query.request_id), status, release, environment)]
    if request.override_reason:  # the person overrode the freeze for this one
        return [refusal for refusal in refusals if refusal.gate not in ("freeze", "soak")]
    return refusals


def _clock_ends(facts: GateFacts, refusals: list[Refusal]) -> datetime | None:
    """When the clock alone may change the verdict: a freeze ends, or the soak is done (a waiting check looks
    again then)."""
    ends = [facts.freezes[0].ends_at] if facts.freezes else []
    if any(refusal.gate == "soak" for refusal in refusals) and facts.soak is not None and facts.soak.ends_at:
        ends.append(facts.soak.ends_at)
    return min(ends, default=None)
