"""Change management: freezes, calendar feed tokens, stakeholder subscriptions."""

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models._base import created_at_field, team_id_field, time_field


class Freeze(SQLModel, table=True):
    __tablename__ = "freezes"
    __table_args__ = (Index("ix_freezes_team_env_end", "team_id", "environment", "end_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    environment: str = Field(max_length=31)
    start_at: datetime = time_field(nullable=False)
    end_at: datetime = time_field(nullable=False)
    reason: str = Field(max_length=500)
    created_by: str = Field(max_length=32)
    created_at: datetime = created_at_field()
    lifted_at: datetime | None = time_field()
    lifted_by: str | None = Field(default=None, max_length=32)


class CalendarToken(SQLModel, table=True):
    __tablename__ = "calendar_tokens"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    token_hash: str = Field(max_length=64, unique=True)
    created_by: str = Field(max_length=32)
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = time_field()


class Subscription(SQLModel, table=True):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "service", name="uq_subscriptions_team_user_service"),
        Index("ix_subscriptions_team_service", "team_id", "service"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    user_id: str = Field(max_length=32)
    service: str = Field(max_length=63)
    created_at: datetime = created_at_field()
