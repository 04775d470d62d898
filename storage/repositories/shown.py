"""What a release's card shows, as plain rows: for `/release show` the release with its active decisions, its
deployments and its open deployment requests; for a change's new card (which holds the release and its decisions)
the deployments and requests.

On PostgreSQL each is one statement (`storage/repositories/one_trip.py`): one round trip does the work of four, or
of two. SQLite runs the statements on the event loop, where each costs less than a round trip would save."""

from typing import NamedTuple

from sqlalchemy import Integer, bindparam, select

from storage.db import Reader, rows_of
from storage.models.tables import APPROVALS, RELEASES
from storage.repositories import approvals, deploy_requests, deployments, releases
from storage.repositories.approvals import Decided
from storage.repositories.deploy_requests import OpenRequest
from storage.repositories.deployments import DeployedLine
from storage.repositories.one_trip import array_of, on_postgres, rows_in
from storage.repositories.releases import ShownRelease


class CardRows(NamedTuple):
    release: ShownRelease
    decided: list[Decided]
    deployed: list[DeployedLine]
    requests: list[OpenRequest]


_DECIDED = approvals.decided(RELEASES.c.team_id, APPROVALS.c.release_id == RELEASES.c.id)
_DEPLOYED = deployments.lines_of(RELEASES.c.team_id, RELEASES.c.id)
_REQUESTS = deploy_requests.open_of(
    RELEASES.c.team_id, deploy_requests.REQUESTS.c.release_id == RELEASES.c.id, OpenRequest._fields
)
_IN_ONE = select(
    *[RELEASES.c[name] for name in ShownRelease._fields],
    array_of(_DECIDED),
    array_of(_DEPLOYED),
    array_of(_REQUESTS),
).where(*releases.MATCHES_REF)
_SHOWN = len(ShownRelease._fields)


async def card_rows(*, session: Reader, team_id: str, service: str, version: str) -> CardRows | None:
    """The release `service@version` of `team_id` with what its card shows (None: there is no such release)."""
    connection = await rows_of(session)
    if on_postgres(connection):
        params = {"team_id": team_id, "service": service, "version": version}
        row = (await connection.execute(_IN_ONE, params)).first()
        if row is None:
            return None
        decided, deployed, requests = row[_SHOWN:]
        dialect = connection.dialect
        return CardRows(
            ShownRelease(*row[:_SHOWN]),
            [Decided(*value) for value in rows_in(_DECIDED, dialect, decided)],
            [DeployedLine(*value) for value in rows_in(_DEPLOYED, dialect, deployed)],
            [OpenRequest(*value) for value in rows_in(_REQUESTS, dialect, requests)],
        )
    release = await releases.shown(session=connection, team_id=team_id, service=service, version=version)
    if release is None:
        return None
    ids = [release.id]
    return CardRows(
        release,
        (await approvals.decisions_of(session=connection, team_id=team_id, release_ids=ids))[release.id],
        await deployments.lines_for_release(session=connection, team_id=team_id, release_id=release.id),
        await deploy_requests.open_lines(session=connection, team_id=team_id, release_ids=ids),
    )


_DEPLOYED_OF = deployments.lines_of(bindparam("team_id"), bindparam("release_id", type_=Integer))
_REQUESTS_OF = deploy_requests.open_of(
    bindparam("team_id"), deploy_requests.REQUESTS.c.release_id == bindparam("release_id"), OpenRequest._fields
)
_PARTS_IN_ONE = select(array_of(_DEPLOYED_OF), array_of(_REQUESTS_OF))


async def card_parts(*, session: Reader, team_id: str, release_id: int) -> tuple[list[DeployedLine], list[OpenRequest]]:
    """A release's deployments (oldest first) and its open deployment requests, for its card."""
    connection = await rows_of(session)
    params = {"team_id": team_id, "release_id": release_id}
    if on_postgres(connection):
        deployed, requests = (await connection.execute(_PARTS_IN_ONE, params)).one()
        dialect = connection.dialect
        return (
            [DeployedLine(*value) for value in rows_in(_DEPLOYED_OF, dialect, deployed)],
            [OpenRequest(*value) for value in rows_in(_REQUESTS_OF, dialect, requests)],
        )
    return (
        await deployments.lines_for_release(session=connection, team_id=team_id, release_id=release_id),
        await deploy_requests.open_lines(session=connection, team_id=team_id, release_ids=[release_id]),
    )
