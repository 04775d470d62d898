"""Releases and what happens to them: approvals, deployments, regression sign-offs, the audit trail."""

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.domain.lifecycle import Status
from storage.models._base import created_at_field, json_field, team_id_field, text_field, time_field
from storage.types import StatusType


class ReleaseBase(SQLModel):
    service: str = Field(max_length=63)
    version: str = Field(max_length=64)
    summary: str = Field(max_length=300)
    changes: str = text_field()
    risk: str = Field(default="medium", max_length=10)
    rollback_plan: str = text_field()
    window_start: datetime | None = time_field()
    window_end: datetime | None = time_field()


class Release(ReleaseBase, table=True):
    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("team_id", "service", "version", name="uq_releases_team_service_version"),
        Index("ix_releases_team_created", "team_id", "id"),
        Index("ix_releases_team_service", "team_id", "service", "id"),
        Index("ix_releases_team_status", "team_id", "status"),
        Index("ix_releases_team_window", "team_id", "window_start"),
        Index("ix_releases_team_proposer", "team_id", "proposer_id", "id"),  # App Home: "your releases"
        Index("ix_releases_team_commit", "team_id", "service", "commit_sha"),  # GitHub: a deployment's sha
        Index(  # App Home: emergency changes still owing their full approval (a handful among 100k releases)
            "ix_releases_team_retro_owed",
            "team_id",
            "retro_due_at",
            sqlite_where=text("retro_due_at IS NOT NULL AND retro_approved_at IS NULL"),
            postgresql_where=text("retro_due_at IS NOT NULL AND retro_approved_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    proposer_id: str = Field(max_length=32)
    status: Status = Field(default=Status.PROPOSED, sa_type=StatusType, nullable=False)
    channel_id: str = Field(max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    row_version: int = Field(default=1)
    # Separation of duties: who last changed the scope (proposed, re-proposed, edited, scheduled) and how often.
    scope_changed_by: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})
    scope_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # Everyone who changed the scope since it was last proposed (space-separated ids): none of them may approve it.
    scope_authors: str = text_field()
    review_summary: str = text_field()
    # The commit this release is (40 hex digits): given at propose, resolved from its tag, or set once by a person.
    commit_sha: str | None = Field(default=None, max_length=40)
    # Its change class (bot/domain/change_classes.py): normal, standard (the template's name) or emergency.
    change_class: str = Field(default="normal", max_length=10, sa_column_kwargs={"server_default": "normal"})
    standard_name: str | None = Field(default=None, max_length=60)
    incident_url: str | None = Field(default=None, max_length=500)
    retro_due_at: datetime | None = time_field()  # emergency: the full approval is due by then (set at prod)
    retro_approved_at: datetime | None = time_field()
    cab_decision: str | None = Field(default=None, max_length=10)  # approve | reject | defer
    cab_decided_by: str | None = Field(default=None, max_length=32)
    cab_decided_at: datetime | None = time_field()
    cab_note: str | None = Field(default=None, max_length=500)  # what the decider said (the agenda shows a deferral's)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()

    @property
    def ref(self) -> str:
        return f"{self.service}@{self.version}"

    @property
    def pk(self) -> int:
        """The id of a stored release (flushed or loaded); never None where it is used."""
        if self.id is None:
            raise RuntimeError(f"{self.ref} has not been flushed yet")
        return self.id


class Approval(SQLModel, table=True):
    """One decision by one person for one environment; `invalidated_at` set when scope changes or withdrawn."""

    __tablename__ = "approvals"
    __table_args__ = (
        Index(
            "uq_approvals_active_decision",
            "release_id",
            "environment",
            "user_id",
            unique=True,
            sqlite_where=text("invalidated_at IS NULL"),
            postgresql_where=text("invalidated_at IS NULL"),
        ),
        Index("ix_approvals_team_user", "team_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    release_id: int = Field(foreign_key="releases.id", index=True)
    environment: str = Field(max_length=31)
    user_id: str = Field(max_length=32)
    decision: str = Field(max_length=10)  # approve | reject
    comment: str = text_field()
    group_name: str | None = Field(default=None, max_length=40)
    # What exactly was decided on: `bot.domain.scope.digest` of the release then, and its scope version.
    scope_hash: str | None = Field(default=None, max_length=64)
    scope_version: int | None = Field(default=None)
    created_at: datetime = created_at_field()
    invalidated_at: datetime | None = time_field()


class Deployment(SQLModel, table=True):
    __tablename__ = "deployments"
    __table_args__ = (
        Index("ix_deployments_team_service_env", "team_id", "service", "environment", "id"),
        Index("uq_deployments_delivery", "team_id", "delivery_id", unique=True),
        # Delivery metrics: one environment's deployments in a time range, workspace-wide or per service.
        Index("ix_deployments_team_env_created", "team_id", "environment", "created_at"),
        Index("ix_deployments_team_service_env_created", "team_id", "service", "environment", "created_at"),
        # The web board: a workspace's newest deployments, and its newest rollbacks.
        Index("ix_deployments_team_id", "team_id", "id"),
        Index(  # partial: "not rolled back" (every live-version query) must never be read through it
            "ix_deployments_team_rolled_back",
            "team_id",
            "rolled_back_at",
            sqlite_where=text("rolled_back_at IS NOT NULL"),
            postgresql_where=text("rolled_back_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    release_id: int = Field(foreign_key="releases.id", index=True)
    service: str = Field(max_length=63)
    version: str = Field(max_length=64)
    environment: str = Field(max_length=31)
    actor_id: str = Field(max_length=64)  # a user id, or "ci"
    outcome: str = Field(default="succeeded", max_length=10)  # succeeded | failed
    ci_url: str | None = Field(default=None, max_length=500)
    delivery_id: str | None = Field(default=None, max_length=100)
    override_reason: str | None = Field(default=None, max_length=500)
    bypassed_gates: bool = Field(default=False)
    created_at: datetime = created_at_field()
    rolled_back_at: datetime | None = time_field()
    rolled_back_by: str | None = Field(default=None, max_length=32)
    rollback_reason: str | None = Field(default=None, max_length=500)
    commit_at: datetime | None = time_field()  # when the change was committed, as CI reported it (lead time)
    commit_sha: str | None = Field(default=None, max_length=40)  # the commit deployed (the release's, when known)
    verification_failed_at: datetime | None = time_field()  # a failed regression sign-off marked it as a failure


class Verification(SQLModel, table=True):
    """A regression sign-off: the newest one per (release, environment) is the one that counts."""

    __tablename__ = "verifications"
    __table_args__ = (Index("ix_verifications_release_env", "release_id", "environment", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    release_id: int = Field(foreign_key="releases.id")
    environment: str = Field(max_length=31)
    user_id: str = Field(max_length=32)
    passed: bool
    note: str = text_field()
    created_at: datetime = created_at_field()


class AuditEvent(SQLModel, table=True):
    """Append-only: who did what, when. Never updated or deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_team_release", "team_id", "release_id", "id"),
        Index("ix_audit_team_id", "team_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    release_id: int | None = Field(default=None, foreign_key="releases.id")
    actor_id: str = Field(max_length=64)
    action: str = Field(max_length=40)
    details: dict[str, Any] = json_field()
    created_at: datetime = created_at_field()
    # The hash chain (storage/repositories/audit_chain.py): the previous event's hash in the workspace, and this one's.
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)
