"""Turning release events into scheduled jobs, and dropping the ones that no longer apply.

Registered as the kernel's follow-ups (`HOOKS`), so they run inside the use case's transaction: the jobs commit
(or not) with the change.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import approval_policy, change_classes, reminders
from bot.domain.approval_policy import ApprovalState
from bot.domain.change import Audit
from bot.domain.lifecycle import OPEN, REVIEWABLE, Status
from bot.domain.reminders import Kind
from bot.domain.timeparse import parse_duration
from bot.services.kernel.context import ServiceContext
from bot.services.kernel.hooks import HOOKS, Facts
from storage.models import Deployment, Release
from storage.repositories import approvals as approvals_repo
from storage.repositories import jobs

AWAITING = sorted(OPEN)


async def _states(
    session: AsyncSession, ctx: ServiceContext, release: Release, *, new: bool = False
) -> list[ApprovalState]:
    decisions = (
        () if new else await approvals_repo.active(session=session, team_id=release.team_id, release_id=release.pk)
    )
    # Group membership is not needed to know which *entities* are asked; people are resolved at delivery.
    return approval_policy.states(
        change_classes.view(ctx.policy, release),
        proposer_id=release.proposer_id,
        decisions=decisions,
        members={},
        scope_authors=approval_policy.authors_of(release.scope_authors),
    )


def _asked(ctx: ServiceContext, release: Release, states: Sequence[ApprovalState]) -> list[str]:
    asked: list[str] = []
    policy = change_classes.view(ctx.policy, release)
    for state in states:
        env = policy.environment(state.environment)
        if env is not None:
            asked += reminders.approver_entities(env, state, ctx.policy.release_managers)
    return list(dict.fromkeys(asked))


async def _schedule(
    session: AsyncSession,
    release: Release,
    kind: Kind,
    dedupe_key: str,
    due_at: datetime,
    *,
    target: str | None = None,
    payload: dict[str, Any] | None = None,
    earlier: bool = False,
) -> None:
    """One reminder about `release`, once per `dedupe_key` (see `jobs.ensure`)."""
    job = jobs.Due(kind, dedupe_key, due_at, target=target, release_id=release.pk, payload=payload)
    await jobs.ensure_all(session=session, team_id=release.team_id, jobs=[job], earlier=earlier)


async def ask_approvers(session: AsyncSession, ctx: ServiceContext, release: Release, *, new: bool = False) -> None:
    """Every approver still asked gets a recurring digest job (an existing one keeps its rhythm); a `new` release
    has no decisions to read."""
    if release.status not in OPEN:
        return
    due = reminders.next_nudge(ctx.now(), ctx.policy.pending_approval_every, ctx.policy.working_hours)
    states = await _states(session, ctx, release, new=new)
    asked = [
        jobs.Due(kind=Kind.APPROVAL, dedupe_key=reminders.approval_key(entity), due_at=due, target=entity)
        for entity in _asked(ctx, release, states)
    ]
    await jobs.ensure_all(session=session, team_id=release.team_id, jobs=asked)


async def plan_window(session: AsyncSession, ctx: ServiceContext, release: Release, *, new: bool = False) -> None:
    """`before_window` ahead of the planned window: one reminder (a moved window replaces it; a `new` release
    has none to replace)."""
    if not new:
        await jobs.drop(session=session, team_id=release.team_id, release_id=release.pk, kinds=[Kind.WINDOW])
    if release.window_start is None or release.status not in OPEN:
        return
    before = parse_duration(ctx.policy.reminders.before_window)
    due = reminders.window_due(release.window_start, before, ctx.now())
    if due is None:
        return
    await _schedule(
        session,
        release,
        Kind.WINDOW,
        reminders.window_key(release.pk, release.window_start),
        due,
        target=release.proposer_id,
    )


async def on_status_change(session: AsyncSession, ctx: ServiceContext, release: Release, before: Status) -> None:
    status = release.status
    if status in OPEN and before not in OPEN:
        await ask_approvers(session, ctx, release)
    # An approver's digest job is theirs across releases: when it comes due and nothing waits on them any more it
    # drops itself (approval_digest), so a status change does not weigh every pending release to find out now.
    gone: list[str] = []
    if status not in OPEN:
        gone.append(Kind.WINDOW)
    if status not in (Status.IN_PROGRESS,):
        gone.append(Kind.REGRESSION)
    if status not in REVIEWABLE:
        gone.append(Kind.REVIEW)
    await jobs.drop(
        session=session, team_id=release.team_id, release_id=release.pk, kinds=gone, reason=f"release is {status}"
    )


async def on_deploy(session: AsyncSession, ctx: ServiceContext, release: Release, deployment: Deployment) -> None:
    if deployment.outcome != "succeeded":
        return
    policy = ctx.policy
    env = policy.environment(deployment.environment)
    if policy.is_final(deployment.environment):
        due = deployment.created_at + policy.review_after
        payload = {"reason": "deployed", "deployment_id": deployment.id}
        await _schedule(session, release, Kind.REVIEW, reminders.review_key(release.pk), due, payload=payload)
    elif env is not None and env.regression_required:
        due = reminders.next_nudge(ctx.now(), policy.pending_approval_every, policy.working_hours)
        key = reminders.regression_key(release.pk, env.name)
        payload = {"deployment_id": deployment.id}
        await _schedule(session, release, Kind.REGRESSION, key, due, target=env.name, payload=payload)


async def on_rollback(session: AsyncSession, ctx: ServiceContext, release: Release, deployment: Deployment) -> None:
    """A rollback is the moment to learn: the review opens right away (sooner than any planned prompt)."""
    payload = {"reason": "rolled_back", "deployment_id": deployment.id}
    key = reminders.review_key(release.pk)
    await _schedule(session, release, Kind.REVIEW, key, ctx.now(), payload=payload, earlier=True)


@HOOKS.after(Audit.PROPOSED, Audit.REPROPOSED)
async def _proposed(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    """Approval reminders and the window reminder (a `new` release has no decisions and no jobs yet)."""
    await ask_approvers(session, ctx, release, new=facts.new)
    await plan_window(session, ctx, release, new=facts.new)


@HOOKS.after(Audit.SCHEDULED)
async def _scheduled(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    await plan_window(session, ctx, release)


@HOOKS.after(Audit.DEPLOYED)
async def _deployed(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    """The review after the final environment, a sign-off nudge where one is due."""
    if facts.deployment is not None:
        await on_deploy(session, ctx, release, facts.deployment)


@HOOKS.after(Audit.ROLLED_BACK)
async def _rolled_back(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    if facts.deployment is not None:
        await on_rollback(session, ctx, release, facts.deployment)


@HOOKS.after_status
async def _moved(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    if facts.before is not None:
        await on_status_change(session, ctx, release, facts.before)
