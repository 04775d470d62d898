"""Post-release reviews: the review, the replies collected from its thread, and action items."""

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models._base import created_at_field, team_id_field, text_field, time_field


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("team_id", "release_id", name="uq_reviews_team_release"),
        Index("ix_reviews_team_thread", "team_id", "channel_id", "thread_ts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    release_id: int = Field(foreign_key="releases.id")
    status: str = Field(default="open", max_length=10)  # open | closed
    facilitator_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)
    started_at: datetime = created_at_field()
    closed_at: datetime | None = time_field()
    summary: str = text_field()


class ReviewReply(SQLModel, table=True):
    __tablename__ = "review_replies"
    __table_args__ = (UniqueConstraint("review_id", "message_ts", name="uq_review_replies_message"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    review_id: int = Field(foreign_key="reviews.id", index=True)
    message_ts: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    text: str = text_field()
    prompt_index: int | None = Field(default=None)
    deleted: bool = Field(default=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class ActionItem(SQLModel, table=True):
    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_team_owner", "team_id", "owner_id", "status"),
        Index("ix_action_items_team_release", "team_id", "release_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    release_id: int = Field(foreign_key="releases.id")
    owner_id: str = Field(max_length=32)
    due_at: datetime = time_field(nullable=False)
    text: str = Field(max_length=500)
    status: str = Field(default="open", max_length=10)  # open | done
    created_by: str = Field(max_length=32)
    created_at: datetime = created_at_field()
    done_at: datetime | None = time_field()
    done_by: str | None = Field(default=None, max_length=32)
