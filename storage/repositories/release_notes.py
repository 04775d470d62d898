"""A release's computed notes (scoped by workspace; never commits). Cards, posts and the pipeline read the brief (the
counts and the first pull requests); only `/release notes` reads every commit."""

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.lifecycle import Status
from bot.domain.release_notes import Notes
from storage.db import Reader, rows_of
from storage.models import Release, ReleaseNotes
from storage.models.tables import select_fields, table_of
from storage.types import utcnow


async def get(*, session: AsyncSession, team_id: str, release_id: int) -> ReleaseNotes | None:
    query = select(ReleaseNotes).where(ReleaseNotes.team_id == team_id, ReleaseNotes.release_id == release_id)
    return (await session.exec(query)).first()


async def notes_of(*, session: AsyncSession, team_id: str, release_id: int) -> Notes | None:
    """The full notes (every commit)."""
    query = select(ReleaseNotes.notes).where(ReleaseNotes.team_id == team_id, ReleaseNotes.release_id == release_id)
    found = (await session.exec(query)).first()
    return Notes.from_json(found) if found is not None else None


_NOTES = table_of(ReleaseNotes)
_BRIEF = select_fields(_NOTES, ("brief",)).where(
    _NOTES.c.team_id == bindparam("team_id"), _NOTES.c.release_id == bindparam("release_id")
)


async def brief_of(*, session: Reader, team_id: str, release_id: int) -> Notes | None:
    """The brief: counts, standing, compare link, the first pull requests."""
    connection = await rows_of(session)
    brief = (await connection.execute(_BRIEF, {"team_id": team_id, "release_id": release_id})).scalar()
    return Notes.from_json(brief) if brief is not None else None


async def briefs_for(*, session: AsyncSession, team_id: str, release_ids: Sequence[int]) -> dict[int, Notes]:
    if not release_ids:
        return {}
    query = select(ReleaseNotes.release_id, ReleaseNotes.brief).where(
        ReleaseNotes.team_id == team_id, col(ReleaseNotes.release_id).in_(list(release_ids))
    )
    return {release_id: Notes.from_json(brief) for release_id, brief in (await session.exec(query)).all()}


async def store(*, session: AsyncSession, team_id: str, release_id: int, notes: Notes) -> None:
    """Keep `notes` as the release's (replacing older ones, computed against another base)."""
    row = await get(session=session, team_id=team_id, release_id=release_id)
    if row is None:
        row = ReleaseNotes(team_id=team_id, release_id=release_id, head_sha=notes.head_sha, standing="")
    row.base_sha = notes.base_sha
    row.head_sha = notes.head_sha
    row.standing = notes.standing.value
    row.total_commits = notes.total_commits
    row.brief = notes.brief().to_json()
    row.notes = notes.to_json()
    row.computed_at = utcnow()
    session.add(row)


async def open_with_commit(
    *, session: AsyncSession, team_id: str, service: str, statuses: Iterable[Status]
) -> Sequence[Release]:
    """The releases of `service` in `statuses` whose commit is known: the ones whose notes depend on what is live."""
    query = select(Release).where(
        Release.team_id == team_id,
        Release.service == service,
        col(Release.status).in_(list(statuses)),
        col(Release.commit_sha).is_not(None),
    )
    return (await session.exec(query)).all()
