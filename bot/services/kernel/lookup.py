"""Finding the release a person named, or telling them it does not exist and how to see what does."""

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import permissions
from bot.domain.errors import NotFound
from bot.domain.permissions import Permission
from bot.domain.policy import Members
from bot.domain.validation import ReleaseRef
from bot.services.kernel.context import Actor, ServiceContext
from storage.models import Release
from storage.repositories import releases as releases_repo


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
        raise NotFound(
            "There is no release {ref}. See what exists with `/release list {service}`.",
            ref=str(ref),
            service=ref.service,
        )
    return found


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
    permissions.check(
        ctx.policy, None, action, user_id=actor.user_id, members=members, ref=found.ref, proposer_id=found.proposer_id
    )
    return found
