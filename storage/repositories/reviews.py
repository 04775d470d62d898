"""Post-release reviews and the replies collected from their threads."""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Release, Review, ReviewReply


async def for_release(*, session: AsyncSession, team_id: str, release_id: int, lock: bool = False) -> Review | None:
    query = select(Review).where(Review.team_id == team_id, Review.release_id == release_id)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def open_in_thread(*, session: AsyncSession, team_id: str, channel_id: str, thread_ts: str) -> Review | None:
    """The open review whose thread this is: by the review's own anchor, else by its release's message."""
    query = select(Review).where(
        Review.team_id == team_id,
        Review.channel_id == channel_id,
        Review.thread_ts == thread_ts,
        Review.status == "open",
    )
    review = (await session.exec(query)).first()
    if review is not None:
        return review
    by_release = (
        select(Review)
        .join(Release, col(Release.id) == col(Review.release_id))
        .where(
            Review.team_id == team_id,
            Review.status == "open",
            Release.team_id == team_id,
            Release.channel_id == channel_id,
            Release.message_ts == thread_ts,
        )
    )
    return (await session.exec(by_release)).first()


def add(session: AsyncSession, review: Review, /) -> Review:
    session.add(review)
    return review


async def reply(*, session: AsyncSession, review_id: int, message_ts: str) -> ReviewReply | None:
    query = select(ReviewReply).where(ReviewReply.review_id == review_id, ReviewReply.message_ts == message_ts)
    return (await session.exec(query)).first()


def add_reply(session: AsyncSession, reply: ReviewReply, /) -> ReviewReply:
    session.add(reply)
    return reply


async def replies(*, session: AsyncSession, review_id: int) -> Sequence[ReviewReply]:
    """Live replies in thread order (Slack `ts` strings sort by time when compared as numbers)."""
    query = select(ReviewReply).where(ReviewReply.review_id == review_id, col(ReviewReply.deleted).is_(False))
    rows = list((await session.exec(query)).all())
    return sorted(rows, key=lambda reply: float(reply.message_ts))


async def has_replied(*, session: AsyncSession, team_id: str, review_id: int, user_id: str) -> bool:
    """Whether `user_id` has a live (not deleted) reply in the review's thread."""
    query = (
        select(ReviewReply.id)
        .where(
            ReviewReply.team_id == team_id,
            ReviewReply.review_id == review_id,
            ReviewReply.user_id == user_id,
            col(ReviewReply.deleted).is_(False),
        )
        .limit(1)
    )
    return (await session.exec(query)).first() is not None
