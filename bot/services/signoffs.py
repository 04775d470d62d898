"""Regression sign-off: a verifier records that regression tests passed or failed for a release in an environment.
The newest sign-off counts, so a failure blocks promotion until a later pass supersedes it."""

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.errors import InvalidTransition, NotAllowed
from bot.domain.lifecycle import Status
from bot.domain.mrkdwn import mention
from bot.domain.validation import MAX_REASON, ReleaseRef, check_text
from bot.services import lookup, release_card
from bot.services.context import Actor, ServiceContext
from bot.services.deployments import environment_or_refuse
from storage.models import Release, Verification
from storage.repositories import audit
from storage.repositories import deployments as deployments_repo
from storage.repositories import verifications as verifications_repo
from storage.types import utcnow

CLOSED = frozenset({Status.REJECTED, Status.CANCELLED, Status.REVIEWED})


@dataclass(frozen=True)
class SignOff:
    release: Release
    verification: Verification
    message: str


def _member(user_id: str, entities: Iterable[str], members: dict[str, frozenset[str]]) -> bool:
    return any(user_id == entity or user_id in members.get(entity, frozenset()) for entity in entities)


async def verify(
    ctx: ServiceContext, actor: Actor, ref: ReleaseRef, environment: str, passed: bool, note: str = ""
) -> SignOff:
    env = environment_or_refuse(ctx.policy, environment)
    note = check_text(note, field="note", limit=MAX_REASON, required=False)
    members = await ctx.directory.members(actor.team_id, release_card.group_ids(ctx.policy))
    if env.verifiers and not _member(actor.user_id, env.verifiers, members):
        who = ", ".join(mention(entity) for entity in env.verifiers)
        raise NotAllowed(f"You are not a verifier for {env.name}; ask one of {who} to sign off.")
    async with ctx.db.transaction() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)
        assert release.id is not None
        status = Status(release.status)
        if status in CLOSED:
            raise InvalidTransition(f"{release.ref} is {status.label}, so there is nothing to sign off.")
        deployed = await deployments_repo.for_release(session=session, team_id=actor.team_id, release_id=release.id)
        if not any(d.environment == env.name and d.outcome == deployments_repo.SUCCEEDED for d in deployed):
            raise InvalidTransition(
                f"{release.ref} has not been deployed to {env.name}, so its regression cannot be signed off there. "
                f"Deploy it first: `/release deploy {release.ref} {env.name}`."
            )
        verification = verifications_repo.add(
            session=session,
            verification=Verification(
                team_id=actor.team_id,
                release_id=release.id,
                environment=env.name,
                user_id=actor.user_id,
                passed=passed,
                note=note,
            ),
        )
        await session.flush()
        audit.append(
            session=session,
            team_id=actor.team_id,
            actor_id=actor.user_id,
            action="verified",
            release_id=release.id,
            details={"environment": env.name, "passed": passed, "note": note, "verification_id": verification.id},
        )
        names = ctx.policy.environment_names
        next_env = names[names.index(env.name) + 1] if env.name != names[-1] else None
        release_card.thread(session, release, "thread_verified", verification=verification, next_env=next_env)
        release.row_version += 1
        release.updated_at = utcnow()
        await release_card.refresh(session, ctx.policy, release, members)
    ctx.kick()
    if passed:
        follow = f" Next: `/release deploy {release.ref} {next_env}`." if next_env else ""
        message = f"Recorded: regression in *{env.name}* *passed* for *{release.ref}*.{follow}"
    else:
        blocked = f" Promotion to {next_env} is blocked until a later sign-off passes." if next_env else ""
        message = f"Recorded: regression in *{env.name}* *failed* for *{release.ref}*.{blocked}"
    return SignOff(release, verification, message)
