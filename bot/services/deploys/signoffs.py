"""Regression sign-off: a verifier records that regression tests passed or failed for a release in an environment.
The newest sign-off counts, so a failure blocks promotion until a later pass supersedes it. The environment's
`verifiers` may sign off (anyone when it lists none), never the release's proposer."""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import permissions
from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.errors import InvalidTransition
from bot.domain.lifecycle import Act, require
from bot.domain.message import Message, Strong
from bot.domain.permissions import Permission
from bot.domain.validation import MAX_REASON, ReleaseRef, check_text
from bot.services.deploys.deployments import environment_or_refuse
from bot.services.kernel import lookup, refusals, release_state
from bot.services.kernel.context import Actor, ServiceContext
from storage.models import Release, Verification
from storage.repositories import deployments as deployments_repo
from storage.repositories import verifications as verifications_repo


async def _deployed_there(session: AsyncSession, release: Release, env: str) -> None:
    deployed = await deployments_repo.for_release(session=session, team_id=release.team_id, release_id=release.pk)
    if not any(d.environment == env and d.outcome == deployments_repo.SUCCEEDED for d in deployed):
        raise InvalidTransition(
            "{ref} has not been deployed to {env}, so its regression cannot be signed off there. "
            "Deploy it first: `/release deploy {ref} {env}`.",
            ref=release.ref,
            env=env,
        )


@dataclass(frozen=True)
class SignOff:
    release: Release
    verification: Verification
    message: Message


async def verify(
    ctx: ServiceContext, actor: Actor, ref: ReleaseRef, environment: str, passed: bool, note: str = ""
) -> SignOff:
    env = environment_or_refuse(ctx.policy, environment)
    note = check_text(note, label="note", limit=MAX_REASON, required=False)
    members = await ctx.members(actor.team_id)
    async with (
        refusals.audited(ctx, actor, "sign off", release=ref, environment=env.name),
        ctx.db.transaction() as session,
    ):
        release = await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)
        permissions.check(
            ctx.policy,
            env,
            Permission.SIGN_OFF,
            user_id=actor.user_id,
            members=members,
            ref=release.ref,
            proposer_id=release.proposer_id,
        )
        require(Act.SIGN_OFF, release.status, ref=release.ref)
        await _deployed_there(session, release, env.name)
        verification = verifications_repo.add(
            session,
            Verification(
                team_id=actor.team_id,
                release_id=release.pk,
                environment=env.name,
                user_id=actor.user_id,
                passed=passed,
                note=note,
                created_at=ctx.now(),
            ),
        )
        if not passed:  # a change failure for delivery metrics
            await deployments_repo.mark_verification_failed(
                session=session, team_id=actor.team_id, release_id=release.pk, environment=env.name, at=ctx.now()
            )
        await session.flush()
        names = ctx.policy.environment_names
        next_env = names[names.index(env.name) + 1] if env.name != names[-1] else None
        change = ReleaseChange(
            Audit.VERIFIED,
            {"environment": env.name, "passed": passed, "note": note, "verification_id": verification.id},
            thread=post("thread_verified", verification=verification, next_env=next_env),
        )
        await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
    return SignOff(release, verification, _recorded(release.ref, env.name, passed, next_env))


def _recorded(ref: str, env: str, passed: bool, next_env: str | None) -> Message:
    follow: Message | str = ""
    if passed and next_env:
        follow = Message(" Next: `/release deploy {ref} {env}`.", ref=ref, env=next_env)
    elif next_env:
        follow = Message(" Promotion to {env} is blocked until a later sign-off passes.", env=next_env)
    return Message(
        "Recorded: regression in {env} {outcome} for {ref}.{follow}",
        env=Strong(env),
        outcome=Strong("passed" if passed else "failed"),
        ref=Strong(ref),
        follow=follow,
    )
