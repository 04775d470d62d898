"""Deploy locks and their queues: who is changing a service (or every service) in an environment now, and who is
next. At most one lock per service × environment is not ended (a partial unique index says so)."""

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from storage.models._base import created_at_field, team_id_field, time_field

_LIVE = text("state <> 'ended'")
_WAITING = text("left_at IS NULL")


class DeployLock(SQLModel, table=True):
    __tablename__ = "deploy_locks"
    __table_args__ = (
        Index(
            "uq_deploy_locks_live",
            "team_id",
            "service",
            "environment",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index("ix_deploy_locks_team_holder", "team_id", "holder", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    service: str = Field(max_length=63)  # a service, or `*`: every service in the environment
    environment: str = Field(max_length=31)
    holder: str = Field(max_length=32)
    reason: str = Field(max_length=500)
    state: str = Field(default="held", max_length=10)  # held | offered | ended (bot.domain.locks.LockState)
    since: datetime = time_field(nullable=False)
    until: datetime = time_field(nullable=False)
    length_seconds: int = Field(default=0)  # what an offered lock lasts once taken
    created_at: datetime = created_at_field()
    ended_at: datetime | None = time_field()
    ended_by: str | None = Field(default=None, max_length=32)
    ending: str | None = Field(default=None, max_length=10)  # lifted | expired | passed

    @property
    def pk(self) -> int:
        if self.id is None:
            raise RuntimeError("lock has not been flushed yet")
        return self.id


class LockQueueEntry(SQLModel, table=True):
    """A person waiting for a service × environment's lock, first come first served."""

    __tablename__ = "lock_queue"
    __table_args__ = (
        Index(
            "ix_lock_queue_waiting",
            "team_id",
            "service",
            "environment",
            "id",
            sqlite_where=_WAITING,
            postgresql_where=_WAITING,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    service: str = Field(max_length=63)
    environment: str = Field(max_length=31)
    user_id: str = Field(max_length=32)
    reason: str = Field(max_length=500)
    length_seconds: int
    created_at: datetime = created_at_field()
    left_at: datetime | None = time_field()
    outcome: str | None = Field(default=None, max_length=10)  # offered | left
