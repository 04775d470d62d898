"""Alerts from Prometheus Alertmanager or Grafana, as received, and what people (or Shipmate) decided about them."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from storage.models._base import created_at_field, team_id_field, text_field, time_field


class Alert(SQLModel, table=True):
    """One notification about one alert: (fingerprint, startsAt, status) is received once, however often the
    group is re-sent. A firing alert within the watch of a deployment counts against its release."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("uq_alerts_notification", "team_id", "fingerprint", "starts_at", "status", unique=True),
        Index("ix_alerts_slot", "team_id", "service", "environment", "starts_at"),
        Index("ix_alerts_release", "team_id", "release_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    fingerprint: str = Field(max_length=64)
    starts_at: datetime = time_field(nullable=False)
    status: str = Field(max_length=10)  # firing | resolved
    ends_at: datetime | None = time_field()
    name: str = Field(max_length=200)
    summary: str = text_field()
    source_url: str | None = Field(default=None, max_length=500)
    source: str = Field(max_length=20)  # alertmanager | grafana
    service: str = Field(max_length=63)
    environment: str = Field(max_length=31)
    release_id: int | None = Field(default=None, foreign_key="releases.id")  # the release it counts against
    deployment_id: int | None = Field(default=None, foreign_key="deployments.id")
    watched: bool = False  # it fired within the environment's `watch` of that deployment: the thread was told
    # what was decided about a firing alert that counts: "" | rollback_requested | rolled_back | rollback_needed |
    # dry_run | not_related
    decision: str = Field(default="", max_length=20)
    decided_by: str | None = Field(default=None, max_length=64)
    reason: str = text_field()
    decided_at: datetime | None = time_field()
    rollback_at: datetime | None = time_field()  # when a rollback was asked for (or done) because of it
    created_at: datetime = created_at_field()

    @property
    def pk(self) -> int:
        assert self.id is not None
        return self.id
