"""`/release status [service]`: the version live in each environment, and what is on its way, per service.
Four queries whatever the number of services (live per service × environment, open releases, where they are live,
their open deployment requests), of plain rows: the same report renders once."""

from dataclasses import dataclass

from bot.domain.lifecycle import OPEN
from bot.services.kernel.context import Actor, ServiceContext
from storage.repositories import deploy_requests as requests_repo
from storage.repositories import deployments as deployments_repo
from storage.repositories import releases as releases_repo
from storage.repositories.deployments import LiveVersion
from storage.repositories.releases import FlightLine

MAX_SERVICES = 40


@dataclass(frozen=True)
class InFlight:
    release: FlightLine
    status_label: str
    reached: str | None  # the furthest environment it is live in
    deploying: tuple[str, ...] = ()  # environments a deployer is deploying it to now


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    live: list[tuple[str, LiveVersion | None]]  # pipeline order
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
        ids = [r.id for r in open_releases]
        deployed = await deployments_repo.live_environments(session=session, team_id=actor.team_id, release_ids=ids)
        requests = await requests_repo.open_environments(session=session, team_id=actor.team_id, release_ids=ids)
    by_service: dict[str, dict[str, LiveVersion]] = {}
    for deployment in live:
        by_service.setdefault(deployment.service, {})[deployment.environment] = deployment
    flights: dict[str, list[InFlight]] = {}
    for release in open_releases:
        reached = [environment for environment in deployed[release.id] if environment in names]
        furthest = max(reached, key=names.index) if reached else None
        busy = tuple(requests.get(release.id, ()))
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
