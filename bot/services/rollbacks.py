"""Rollback: an environment goes back to the previous stable version of a service.

The previous stable version is the newest earlier succeeded deployment of another version that was not itself
rolled back. The rolled-back deployments are marked (never deleted), so "what is live" stays a plain query.
"""

from dataclasses import dataclass

from bot.domain.errors import InvalidTransition, NotFound
from bot.domain.lifecycle import Event, can
from bot.domain.message import Message
from bot.domain.validation import MAX_REASON, check_service, check_text
from bot.services import lifecycle_hooks, lookup, release_card, release_state
from bot.services.context import Actor, ServiceContext
from bot.services.deployments import environment_or_refuse
from storage.models import Deployment, Release
from storage.repositories import audit, subscriptions
from storage.repositories import deployments as deployments_repo


@dataclass(frozen=True)
class RollbackOutcome:
    release: Release  # the release taken out
    restored: Deployment  # what is live again
    message: Message


async def rollback(ctx: ServiceContext, actor: Actor, service: str, environment: str, reason: str) -> RollbackOutcome:
    service = check_service(service)
    env = environment_or_refuse(ctx.policy, environment)
    reason = check_text(reason, label="reason", limit=MAX_REASON)
    members = await ctx.members(actor.team_id)
    async with ctx.db.transaction() as session:
        await deployments_repo.lock_slot(session=session, team_id=actor.team_id, service=service, environment=env.name)
        live = await deployments_repo.current(
            session=session, team_id=actor.team_id, service=service, environment=env.name
        )
        if live is None:
            raise NotFound(
                "Nothing of {service} is live in {env}, so there is nothing to roll back. "
                "See what runs where with `/release status {service}`.",
                service=service,
                env=env.name,
            )
        restored = await deployments_repo.previous_stable(session=session, team_id=actor.team_id, current=live)
        if restored is None or restored.id is None:
            raise InvalidTransition(
                "{service}@{version} is the only version of {service} that was ever live in {env}, "
                "so there is no earlier version to roll back to. Ship a fix as a new version instead "
                "(`/release propose {service} <version> <summary>`).",
                service=service,
                version=live.version,
                env=env.name,
            )
        release = await lookup.release(session, team_id=actor.team_id, ref=live.release_id, lock=True)
        restored_release = await lookup.release(session, team_id=actor.team_id, ref=restored.release_id)
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
        audit.record(
            session=session,
            release=release,
            actor_id=actor.user_id,
            action="rolled_back",
            **details,
            deployments=marked,
        )
        audit.append(
            session=session,
            team_id=actor.team_id,
            actor_id=actor.user_id,
            action="restored",
            release_id=restored.release_id,
            details=details,
        )
        if can(release.status, Event.ROLLED_BACK):
            await release_state.transition(
                session, ctx, release, Event.ROLLED_BACK, actor_id=actor.user_id, members=members
            )
        else:
            await release_state.touch(session, ctx, release, members)
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
        await lifecycle_hooks.after_rollback(session, ctx, release, live)
    ctx.kick()
    message = Message(
        "Rolled back *{env}*: {service} {live} → *{restored}*. {ref} is marked rolled back and stakeholders were told.",
        env=env.name,
        service=service,
        live=live.version,
        restored=restored.version,
        ref=release.ref,
    )
    return RollbackOutcome(release, restored, message)
