"""Durable delivery and time: the Slack outbox, scheduled jobs, seen event ids, and answered webhook deliveries."""

from datetime import datetime
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from storage.models._base import created_at_field, json_field, team_id_field, text_field, time_field

DUE = "status = 'pending'"


class OutboxMessage(SQLModel, table=True):
    """A Slack Web API call owed to someone, written in the transaction of the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_release", "release_id", "kind", "status"),
        # The claim's order (storage/repositories/outbox_claims.py): the oldest pending rows, read in order.
        Index("ix_outbox_due", "id", sqlite_where=text(DUE), postgresql_where=text(DUE)),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    release_id: int | None = Field(default=None, foreign_key="releases.id")
    kind: str = Field(max_length=20)  # card | thread | post | dm
    channel: str | None = Field(default=None, max_length=32)
    payload: dict[str, Any] = json_field()
    status: str = Field(default="pending", max_length=12)  # pending | sent | superseded | dead
    attempts: int = Field(default=0)
    next_attempt_at: datetime = created_at_field()
    claimed_until: datetime | None = time_field()
    # The claim's fencing token: a sender re-checks it (and extends the lease) right before each send.
    claim_token: str | None = Field(default=None, max_length=32)
    last_error: str = text_field()
    message_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = created_at_field()
    sent_at: datetime | None = time_field()


class ScheduledJob(SQLModel, table=True):
    """A reminder or review prompt that must happen at `due_at`, exactly once across every process."""

    __tablename__ = "scheduled_jobs"
    __table_args__ = (
        Index("ix_jobs_due", "status", "due_at"),
        Index("uq_jobs_dedupe", "team_id", "dedupe_key", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    kind: str = Field(max_length=30)
    release_id: int | None = Field(default=None, foreign_key="releases.id")
    target: str | None = Field(default=None, max_length=64)
    due_at: datetime = time_field(nullable=False)
    status: str = Field(default="pending", max_length=12)  # pending | claimed | done | dropped
    attempts: int = Field(default=0)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = time_field()
    dedupe_key: str | None = Field(default=None, max_length=200)
    payload: dict[str, Any] = json_field()
    last_error: str = text_field()
    created_at: datetime = created_at_field()
    done_at: datetime | None = time_field()

    @property
    def pk(self) -> int:
        """The id of a stored job (claimed jobs always have one)."""
        if self.id is None:
            raise RuntimeError(f"job {self.kind} has not been flushed yet")
        return self.id


class ProcessedEvent(SQLModel, table=True):
    """Idempotency keys: Slack `event_id`s and CI `delivery_id`s seen once already."""

    __tablename__ = "processed_events"

    team_id: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=200)
    created_at: datetime = created_at_field()


class WebhookDelivery(SQLModel, table=True):
    """The first answer given to a signed delivery (e.g. from CI), whatever it was: a repeat gets it again and is
    never processed, so a delivery refused once cannot be replayed into a record later."""

    __tablename__ = "webhook_deliveries"

    team_id: str = Field(primary_key=True, max_length=32)
    endpoint: str = Field(primary_key=True, max_length=40)  # which webhook answered: "deployments", …
    delivery_id: str = Field(primary_key=True, max_length=100)
    fingerprint: str = Field(max_length=64)  # sha256 of what was delivered: the same id with another body is no repeat
    status_code: int
    answer: dict[str, Any] = json_field()  # the JSON body, as sent
    created_at: datetime = created_at_field()
