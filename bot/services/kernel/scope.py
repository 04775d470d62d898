"""A release's scope changing: the author is remembered (they, and anyone who changed it since it was proposed,
may not approve it), the scope gets a new version and hash, and the approvals (and the CAB's decision) given on the
old one start over."""

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import approval_policy, scope
from bot.domain.change import Audit
from storage.models import Release
from storage.repositories import approvals as approvals_repo
from storage.repositories import audit


def details(release: Release) -> dict[str, str | int]:
    """The release's scope now, as its hash and version: what a decision is given on, or a change makes."""
    return {"scope_hash": scope.digest(release), "scope_version": release.scope_version}


def mark_changed(release: Release, user_id: str, *, new_proposal: bool = False) -> dict[str, str | int]:
    """`user_id` just changed the release's scope: a new scope version, which they may not approve, nor may anyone
    who changed it since it was proposed (a `new_proposal` starts that list over). Returns the new version and its
    hash, for the audit row of the change."""
    release.scope_changed_by = user_id
    release.scope_authors = approval_policy.add_author("" if new_proposal else release.scope_authors, user_id)
    release.scope_version += 1
    cab = {"cab_decision_cleared": release.cab_decision} if release.cab_decision else {}
    release.cab_decision = release.cab_decided_by = release.cab_decided_at = release.cab_note = None  # a new scope
    return {**details(release), **cab}


async def invalidate_approvals(session: AsyncSession, release: Release, actor_id: str, what: str) -> list[str]:
    """The approvals given on the old scope no longer count (audited); returns who had given one."""
    decisions = await approvals_repo.active(session=session, team_id=release.team_id, release_id=release.pk)
    approvers = [decision.user_id for decision in decisions if decision.decision == "approve"]
    if approvers:
        await approvals_repo.invalidate(
            session=session, team_id=release.team_id, release_id=release.pk, decision="approve"
        )
        audit.record(session, release, actor_id, Audit.APPROVALS_INVALIDATED, because=what, approvers=approvers)
    return approvers
