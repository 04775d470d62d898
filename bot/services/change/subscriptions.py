"""Following a service: subscribers get a direct message about its approvals, deployments, rollbacks, reviews."""

from sqlalchemy.exc import IntegrityError

from bot.domain.validation import check_service
from bot.services.kernel.context import Actor, ServiceContext
from storage.models import Subscription
from storage.repositories import subscriptions as subscriptions_repo


async def subscribe(ctx: ServiceContext, actor: Actor, service: str) -> bool:
    """Follow `service`; False when already following (nothing changes twice)."""
    service = check_service(service)
    try:
        async with ctx.db.transaction() as session:
            found = await subscriptions_repo.find(
                session=session, team_id=actor.team_id, user_id=actor.user_id, service=service
            )
            if found is not None:
                return False
            subscriptions_repo.add(session, Subscription(team_id=actor.team_id, user_id=actor.user_id, service=service))
    except IntegrityError:  # a concurrent double submit already subscribed this person
        return False
    return True


async def unsubscribe(ctx: ServiceContext, actor: Actor, service: str) -> bool:
    """Stop following `service`; False when not following it."""
    service = check_service(service)
    async with ctx.db.transaction() as session:
        found = await subscriptions_repo.find(
            session=session, team_id=actor.team_id, user_id=actor.user_id, service=service
        )
        if found is None:
            return False
        await subscriptions_repo.remove(session=session, subscription=found)
    return True


async def followed(ctx: ServiceContext, actor: Actor) -> list[str]:
    async with ctx.db.read() as session:
        return list(await subscriptions_repo.services_of(session=session, team_id=actor.team_id, user_id=actor.user_id))
