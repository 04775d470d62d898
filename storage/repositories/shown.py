"""What a release's card shows, as plain rows: for `/release show` the release with its active decisions, its
deployments and its open deployment requests; for a change's new card (which holds the release and its decisions)
the deployments and requests.

On PostgreSQL each is one statement (`storage/repositories/one_trip.py`): one round trip does the work of four, or
of two. SQLite runs the statements on the event loop, where each costs less than a round trip would save."""

from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, bindparam, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Reader, rows_of
from storage.models import Release
from storage.models.tables import APPROVALS, RELEASES
from storage.repositories import approvals, deploy_requests, deployments, outbox, releases
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


def _parts_of(team: str, release: str) -> tuple[Select[Any], Select[Any]]:
    """A release's deployments and its open requests, by the parameters named `team` and `release`."""
    deployed = deployments.lines_of(bindparam(team), bindparam(release, type_=Integer))
    requests = deploy_requests.open_of(
        bindparam(team), deploy_requests.REQUESTS.c.release_id == bindparam(release), OpenRequest._fields
    )
    return deployed, requests


_DEPLOYED_OF, _REQUESTS_OF = _parts_of("team_id", "release_id")
_PARTS_IN_ONE = select(array_of(_DEPLOYED_OF), array_of(_REQUESTS_OF))


Parts = tuple[list[DeployedLine], list[OpenRequest]]


async def card_parts(*, session: Reader, team_id: str, release_id: int) -> Parts:
    """A release's deployments (oldest first) and its open deployment requests, for its card."""
    connection = await rows_of(session)
    params = {"team_id": team_id, "release_id": release_id}
    if on_postgres(connection):
        return _parts(connection, (await connection.execute(_PARTS_IN_ONE, params)).one())
    return (
        await deployments.lines_for_release(session=connection, team_id=team_id, release_id=release_id),
        await deploy_requests.open_lines(session=connection, team_id=team_id, release_ids=[release_id]),
    )


async def card_parts_after(*, session: AsyncSession, release: Release, saved: dict[str, Any]) -> Parts:
    """`card_parts` of a release a change has just changed, once its new version (`saved`: the columns, as
    `releases.save` writes them) is written and its older unsent cards are dropped (`outbox.supersede_cards`). On
    PostgreSQL both writes ride in the read's statement, as data-modifying CTEs: one round trip instead of three.
    They run on the read's snapshot, which is right here: the read looks at neither table they write."""
    connection = await rows_of(session)
    team_id, release_id = release.team_id, release.pk
    if not saved or not on_postgres(connection):  # no round trips to save
        if saved:
            await releases.save(session, release, **saved)
        await outbox.supersede_cards(session=session, team_id=team_id, release_id=release_id)
        return await card_parts(session=session, team_id=team_id, release_id=release_id)
    outbox.forget_cards(session, release_id)
    # No parameter is named after a column of the tables the statement writes: SQLAlchemy would read it as a value
    # to SET there.
    params = {f"saved_{name}": value for name, value in saved.items()}
    params |= {"saved_id": release_id, "card_team": team_id, "card_release": release_id}
    params |= {"team": team_id, "release": release_id}  # `outbox.SUPERSEDE_CARDS`'s
    row = (await connection.execute(_parts_after(tuple(saved)), params)).one()
    releases.saved(release, saved)
    return _parts(connection, row)


@cache
def _parts_after(names: tuple[str, ...]) -> Select[Any]:
    deployed, requests = _parts_of("card_team", "card_release")
    version = releases.version_update(names, "saved_")
    return select(array_of(deployed), array_of(requests)).add_cte(
        version.cte("saved"), outbox.SUPERSEDE_CARDS.cte("superseded")
    )


def _parts(connection: Any, row: Any) -> Parts:
    deployed, requests = row
    return (
        [DeployedLine(*value) for value in rows_in(_DEPLOYED_OF, connection.dialect, deployed)],
        [OpenRequest(*value) for value in rows_in(_REQUESTS_OF, connection.dialect, requests)],
    )
