"""`/release status [service]`: the version live in each environment, and what is on its way, per service.
Four queries whatever the number of services (live per service × environment, open releases, their deployments and
deployment requests)."""

from dataclasses import dataclass

from bot.domain.lifecycle import OPEN
from bot.services.kernel.context import Actor, ServiceContext
from storage.models import Deployment, Release
from storage.repositories import deploy_requests as requests_repo
from storage.repositories import deployments as deployments_repo
from storage.repositories import releases as releases_repo

MAX_SERVICES = 40


@dataclass(frozen=True)
class InFlight:
    release: Release
    status_label: str
    reached: str | None  # the furthest environment it is live in
    deploying: tuple[str, ...] = ()  # environments a deployer is deploying it to now


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    live: list[tuple[str, Deployment | None]]  # pipeline order
    in_flight: list[InFlight]


@dataclass(frozen=True)
class StatusReport:
    services: list[ServiceStatus]
    more: int  # services left out to fit one message


async def report(ctx: ServiceContext, actor: Actor, service: str | None = None) -> StatusReport:
    names = ctx.policy.environment_names
    async with ctx.db.quick_read() as session:
        live = await deployments_repo.live_by_environment(session=session, team_id=actor.team_id, service=service)
        open_releases = await releases_repo.in_flight(
            session=session, team_id=actor.team_id, statuses=OPEN, service=service
        )
        ids = [r.id for r in open_releases if r.id is not None]
        deployed = await deployments_repo.for_releases(session=session, team_id=actor.team_id, release_ids=ids)
        requests = await requests_repo.open_for_releases(session=session, team_id=actor.team_id, release_ids=ids)
    by_service: dict[str, dict[str, Deployment]] = {}
    for deployment in live:
        by_service.setdefault(deployment.service, {})[deployment.environment] = deployment
    flights: dict[str, list[InFlight]] = {}
    for release in open_releases:
        reached = [
            d.environment
            for d in deployed[release.pk]
            if d.outcome == deployments_repo.SUCCEEDED and d.rolled_back_at is None and d.environment in names
        ]
        furthest = max(reached, key=names.index) if reached else None
        busy = tuple(request.environment for request in requests[release.pk])
        flights.setdefault(release.service, []).append(InFlight(release, release.status.label, furthest, busy))
    services = sorted(set(by_service) | set(flights))
    shown = services[:MAX_SERVICES]
    return StatusReport(
        services=[
            ServiceStatus(
                service=name,
                live=[(env, by_service.get(name, {}).get(env)) for env in names],
                in_flight=flights.get(name, []),
            )
            for name in shown
        ],
        more=len(services) - len(shown),
    )
