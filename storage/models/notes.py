"""Release notes computed from the code: one row per release, against the base it was computed for."""

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models._base import created_at_field, json_field, team_id_field


class ReleaseNotes(SQLModel, table=True):
    __tablename__ = "release_notes"
    __table_args__ = (UniqueConstraint("team_id", "release_id", name="uq_release_notes_team_release"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    release_id: int = Field(foreign_key="releases.id")
    base_sha: str | None = Field(default=None, max_length=40)  # what was live in the target environment
    head_sha: str = Field(max_length=40)  # the release's commit
    standing: str = Field(max_length=10)  # ahead | identical | behind | diverged | first
    total_commits: int = Field(default=0)
    brief: dict[str, Any] = json_field()  # Notes.brief().to_json(): what cards, posts and the pipeline read
    notes: dict[str, Any] = json_field()  # Notes.to_json(): every commit, for `/release notes`
    computed_at: datetime = created_at_field()
