"""Rollback: an environment goes back to the previous stable version of a service.

The previous stable version is the newest earlier succeeded deployment of another version that was not itself
rolled back. The rolled-back deployments are marked (never deleted), so "what is live" stays a plain query.
"""

from dataclasses import dataclass

from bot.domain.errors import InvalidTransition, NotFound
from bot.domain.lifecycle import Event, Status, can, next_status
from bot.domain.validation import MAX_REASON, check_service, check_text
from bot.services import lifecycle_hooks, release_card
from bot.services.context import Actor, ServiceContext
from bot.services.deployments import environment_or_refuse
from storage.models import Deployment, Release
from storage.repositories import audit, subscriptions
from storage.repositories import deployments as deployments_repo
from storage.repositories import releases as releases_repo
from storage.types import utcnow


@dataclass(frozen=True)
class RollbackOutcome:
    release: Release  # the release taken out
    restored: Deployment  # what is live again
    message: str


async def rollback(ctx: ServiceContext, actor: Actor, service: str, environment: str, reason: str) -> RollbackOutcome:
    service = check_service(service)
    env = environment_or_refuse(ctx.policy, environment)
    reason = check_text(reason, field="reason", limit=MAX_REASON)
    members = await ctx.directory.members(actor.team_id, release_card.group_ids(ctx.policy))
    async with ctx.db.transaction() as session:
        await deployments_repo.lock_slot(session=session, team_id=actor.team_id, service=service, environment=env.name)
        live = await deployments_repo.current(
            session=session, team_id=actor.team_id, service=service, environment=env.name
        )
        if live is None:
            raise NotFound(
                f"Nothing of {service} is live in {env.name}, so there is nothing to roll back. "
                f"See what runs where with `/release status {service}`."
            )
        restored = await deployments_repo.previous_stable(session=session, team_id=actor.team_id, current=live)
        if restored is None or restored.id is None:
            raise InvalidTransition(
                f"{service}@{live.version} is the only version of {service} that was ever live in {env.name}, "
                f"so there is no earlier version to roll back to. Ship a fix as a new version instead "
                f"(`/release propose {service} &lt;version&gt; &lt;summary&gt;`)."
            )
        release = await releases_repo.lock_by_id(session=session, team_id=actor.team_id, release_id=live.release_id)
        restored_release = await releases_repo.get_by_id(
            session=session, team_id=actor.team_id, release_id=restored.release_id
        )
        assert release is not None
        assert release.id is not None
        marked = await deployments_repo.mark_rolled_back(
            session=session,
            team_id=actor.team_id,
            service=service,
            environment=env.name,
            after_id=restored.id,
            at=ctx.now(),
            by=actor.user_id,
            reason=reason,
        )
        details = {"environment": env.name, "reason": reason, "from": live.version, "to": restored.version}
        audit.append(
            session=session,
            team_id=actor.team_id,
            actor_id=actor.user_id,
            action="rolled_back",
            release_id=release.id,
            details={**details, "deployments": marked},
        )
        audit.append(
            session=session,
            team_id=actor.team_id,
            actor_id=actor.user_id,
            action="restored",
            release_id=restored.release_id,
            details=details,
        )
        before = release.status
        if can(Status(release.status), Event.ROLLED_BACK):
            release.status = next_status(Status(release.status), Event.ROLLED_BACK, ref=release.ref)
            audit.append(
                session=session,
                team_id=actor.team_id,
                actor_id=actor.user_id,
                action="status",
                release_id=release.id,
                details={"from": before, "to": release.status, "event": Event.ROLLED_BACK.value},
            )
        release.row_version += 1
        release.updated_at = utcnow()
        context = {"actor": actor.user_id, "environment": env.name, "reason": reason, "restored": restored}
        release_card.thread(session, release, "thread_rolled_back", **context)
        followers = await subscriptions.subscribers(session=session, team_id=actor.team_id, service=service)
        release_card.stakeholders(
            session,
            ctx.policy,
            release,
            "stakeholders_rolled_back",
            subscribers=followers,
            restored_release=restored_release,
            **context,
        )
        await release_card.refresh(session, ctx.policy, release, members)
        if release.status != before:
            await lifecycle_hooks.after_status_change(session, ctx, release, before)
        await lifecycle_hooks.after_rollback(session, ctx, release, live)
    ctx.kick()
    message = (
        f"Rolled back *{env.name}*: {service} {live.version} → *{restored.version}*. "
        f"{release.ref} is marked rolled back and stakeholders were told."
    )
    return RollbackOutcome(release, restored, message)
