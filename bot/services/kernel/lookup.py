"""Finding the release a person named, or telling them it does not exist and how to see what does; and whether
they may act on it, as `bot.domain.permissions` says."""

from collections.abc import Mapping, Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import approval_policy, permissions
from bot.domain.errors import NotFound
from bot.domain.permissions import Permission, Who
from bot.domain.policy import Environment, Members
from bot.domain.validation import ReleaseRef
from bot.services.kernel.context import Actor, ServiceContext
from storage.db import Reader
from storage.models import Release
from storage.repositories import releases as releases_repo
from storage.repositories import shown
from storage.repositories.shown import CardRows


async def release(session: AsyncSession, *, team_id: str, ref: ReleaseRef | int, lock: bool = False) -> Release:
    """The release by `service@version` (or id, from a button); `lock` holds it for a state change."""
    if isinstance(ref, int):
        load_by_id = releases_repo.lock_by_id if lock else releases_repo.get_by_id
        found = await load_by_id(session=session, team_id=team_id, release_id=ref)
        if found is None:
            raise NotFound("That release no longer exists in this workspace.")
        return found
    load = releases_repo.lock if lock else releases_repo.get
    found = await load(session=session, team_id=team_id, service=ref.service, version=ref.version)
    if found is None:
        raise _no_release(ref)
    return found


async def shown_release(session: Reader, *, team_id: str, ref: ReleaseRef) -> CardRows:
    """`release(…)` as the plain rows of what its card shows, for a read that changes nothing (`/release show`):
    the release, its active decisions, deployments and open requests."""
    found = await shown.card_rows(session=session, team_id=team_id, service=ref.service, version=ref.version)
    if found is None:
        raise _no_release(ref)
    return found


def _no_release(ref: ReleaseRef) -> NotFound:
    return NotFound(
        "There is no release {ref}. See what exists with `/release list {service}`.", ref=str(ref), service=ref.service
    )


async def owned_release(
    session: AsyncSession,
    ctx: ServiceContext,
    actor: Actor,
    ref: ReleaseRef | int,
    members: Members,
    *,
    action: Permission,
) -> Release:
    """The release, locked for a change its proposer or a release manager may make (`action`: edit, cancel, …)."""
    found = await release(session, team_id=actor.team_id, ref=ref, lock=True)
    check(ctx, actor, members, action, found)
    return found


def check(
    ctx: ServiceContext,
    actor: Actor,
    members: Members,
    action: Permission,
    about: Release | None = None,
    *,
    ref: str | None = None,
    parties: Mapping[Who, str | None] | None = None,
    environments: Sequence[Environment] = (),
) -> None:
    """`permissions.check` of a rule that is the same in every environment, for `actor` acting on the release
    `about` (its ref, proposer and scope authors; `ref` names something else, like an action item's number)."""
    permissions.check(
        ctx.policy,
        None,
        action,
        user_id=actor.user_id,
        members=members,
        ref=ref or (about.ref if about else None),
        proposer_id=about.proposer_id if about else None,
        scope_authors=approval_policy.authors_of(about.scope_authors) if about else (),
        parties=parties,
        environments=environments,
    )
