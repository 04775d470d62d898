"""What `/release show` reads: the release as its card shows it, with its active decisions, its deployments and its
open deployment requests, as plain rows.

On PostgreSQL that is one statement (`storage/repositories/one_trip.py`): one round trip does the work of four.
SQLite runs the four statements on the event loop, where each costs less than a round trip would save."""

from typing import NamedTuple

from sqlalchemy import select

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
