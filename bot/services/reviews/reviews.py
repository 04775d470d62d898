"""Post-release reviews: open one in the release's thread, collect replies, close it with a summary."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import review as review_rules
from bot.domain.change import Audit, Post, ReleaseChange
from bot.domain.errors import InvalidTransition, NotFound
from bot.domain.lifecycle import REVIEWABLE, Act, Event, next_status, require
from bot.domain.message import Message
from bot.domain.permissions import Permission, Who
from bot.domain.policy import Members
from bot.domain.reminders import Kind
from bot.domain.validation import ReleaseRef
from bot.render import render_text
from bot.services.kernel import lookup, refusals, release_state
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.kernel.jobs import runs
from bot.services.kernel.outcome import Outcome
from storage.models import Release, Review, ReviewReply, ScheduledJob
from storage.repositories import action_items, idempotency, jobs
from storage.repositories import releases as releases_repo
from storage.repositories import reviews as reviews_repo


async def open_review(
    session: AsyncSession, ctx: ServiceContext, release: Release, *, started_by: str, reason: str
) -> Review:
    """Create the review and owe the prompts in the release's thread (inside the caller's transaction)."""
    review = reviews_repo.add(
        session,
        Review(
            team_id=release.team_id,
            release_id=release.pk,
            facilitator_id=review_rules.facilitator(ctx.policy, release.proposer_id),
            channel_id=release.channel_id,
            thread_ts=release.message_ts,
        ),
    )
    await session.flush()
    prompts = Post("review_prompt", {"review": review, "prompts": ctx.policy.review.prompts, "reason": reason}, True)
    change = ReleaseChange(
        Audit.REVIEW_STARTED, {"reason": reason, "facilitator": review.facilitator_id}, thread=prompts, card=False
    )
    await release_state.apply(session, ctx, release, change, actor_id=started_by, members={})
    await jobs.drop(session=session, team_id=release.team_id, release_id=release.pk, kinds=[Kind.REVIEW])
    return review


async def start(ctx: ServiceContext, actor: Actor, ref: ReleaseRef) -> Outcome:
    members = await ctx.members(actor.team_id)
    try:
        async with refusals.audited(ctx, actor, "start review", release=ref), ctx.db.transaction() as session:
            release = await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)
            require(Act.START_REVIEW, release.status, ref=release.ref, final=ctx.policy.environment_names[-1])
            existing = await reviews_repo.for_release(session=session, team_id=actor.team_id, release_id=release.pk)
            if existing is not None:
                state = "open" if existing.status == "open" else "closed"
                message = Message("The review of {ref} is already {state}.", ref=release.ref, state=state)
                return Outcome(release, message, changed=False)
            facilitator = review_rules.facilitator(ctx.policy, release.proposer_id)
            lookup.check(ctx, actor, members, Permission.START_REVIEW, release, parties={Who.FACILITATOR: facilitator})
            await open_review(session, ctx, release, started_by=actor.user_id, reason="started")
    except IntegrityError:  # the scheduled prompt (or a double click) opened it at the same moment
        return Outcome(release, Message("The review of {ref} is already open.", ref=release.ref), changed=False)
    return Outcome(release, Message("Started the review of {ref}; the prompts are in its thread.", ref=release.ref))


async def close(ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int) -> Outcome:
    members = await ctx.members(actor.team_id)
    async with refusals.audited(ctx, actor, "close review", release=ref), ctx.db.transaction() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)
        review = await reviews_repo.for_release(
            session=session, team_id=actor.team_id, release_id=release.pk, lock=True
        )
        if review is None:
            raise NotFound("{ref} has no review yet; start it with `/release review start {ref}`.", ref=release.ref)
        if review.status == "closed":
            message = Message("The review of {ref} is already closed.", ref=release.ref)
            return Outcome(release, message, changed=False)
        facilitator = review.facilitator_id
        lookup.check(ctx, actor, members, Permission.CLOSE_REVIEW, release, parties={Who.FACILITATOR: facilitator})
        next_status(release.status, Event.REVIEW_CLOSED, ref=release.ref)  # refuse before any work
        assert review.id is not None
        replies = await reviews_repo.replies(session=session, review_id=review.id)
        sections = review_rules.group_replies([(r.user_id, r.text) for r in replies], ctx.policy.review.prompts)
        items = await action_items.for_release(session=session, team_id=actor.team_id, release_id=release.pk)
        named = {"review": review, "sections": sections, "items": items, "closer": actor.user_id}
        summary = render_text("review_summary", release=release, **named)
        review.status, review.closed_at, review.summary = "closed", ctx.now(), summary
        release.review_summary = summary
        session.add(review)
        news = Post("review_summary", {**named, "summary": summary}, blocks=True, subscribers=False)
        change = ReleaseChange(
            Audit.REVIEW_CLOSED,
            {"replies": len(replies), "action_items": len(items)},
            events=(Event.REVIEW_CLOSED,),
            thread=news,
            stakeholders=news,
        )
        await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
    return Outcome(
        release,
        Message("Closed the review of {ref}; the summary is in its thread and with stakeholders.", ref=release.ref),
    )


@dataclass(frozen=True)
class ThreadMessage:
    """A message event in some thread, as the review cares about it."""

    team_id: str
    event_id: str
    channel_id: str
    thread_ts: str
    message_ts: str
    change: Literal["posted", "edited", "deleted"] = "posted"
    user_id: str | None = None
    text: str = ""


async def record(ctx: ServiceContext, message: ThreadMessage) -> bool:
    """Keep a reply (or its edit or deletion) if the thread is an open review's. Slack retries change nothing,
    and events arriving out of order converge: a deletion wins, an edit beats the original post."""
    for attempt in (1, 2):
        try:
            return await _record(ctx, message)
        except IntegrityError:  # the same message's other event inserted it at the same moment
            if attempt == 2:
                raise
    return False


async def _record(ctx: ServiceContext, message: ThreadMessage) -> bool:
    async with ctx.db.transaction() as session:
        review = await reviews_repo.open_in_thread(
            session=session, team_id=message.team_id, channel_id=message.channel_id, thread_ts=message.thread_ts
        )
        if review is None or review.id is None:
            return False
        if not await idempotency.first_time(session=session, team_id=message.team_id, key=f"event:{message.event_id}"):
            return False
        if review.thread_ts is None:
            review.thread_ts = message.thread_ts
            session.add(review)
        existing = await reviews_repo.reply(session=session, review_id=review.id, message_ts=message.message_ts)
        if existing is not None and (existing.deleted or message.change == "posted"):
            existing.deleted = existing.deleted or message.change == "deleted"
            session.add(existing)
            return True
        segments = review_rules.segments(message.text, ctx.policy.review.prompts)
        prompt_index = segments[0][0] if segments else None
        if existing is None:
            reviews_repo.add_reply(
                session,
                ReviewReply(
                    team_id=message.team_id,
                    review_id=review.id,
                    message_ts=message.message_ts,
                    user_id=message.user_id or "",
                    text="" if message.change == "deleted" else message.text,
                    prompt_index=prompt_index,
                    deleted=message.change == "deleted",
                ),
            )
        else:
            existing.deleted = message.change == "deleted"
            if not existing.deleted:
                existing.text, existing.prompt_index = message.text, prompt_index
            existing.updated_at = ctx.now()
            session.add(existing)
    return True


async def reviewed_release(ctx: ServiceContext, actor: Actor, release_id: int) -> Release:
    """Refuse before the action item modal opens when there is no review to add to, or this person may not."""
    members = await ctx.members(actor.team_id)
    async with refusals.audited(ctx, actor, "add action item", release=release_id), ctx.db.read() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=release_id)
        review = await reviews_repo.for_release(session=session, team_id=actor.team_id, release_id=release_id)
        if review is None:
            raise InvalidTransition(
                "{ref} has no review yet; start it with `/release review start {ref}`.", ref=release.ref
            )
        await may_add_action_item(session, ctx, actor, release, review, members)
        open_items, _ = await action_items.open_counts(
            session=session, team_id=actor.team_id, release_id=release.pk, owner_id=""
        )
        review_rules.check_room(release.ref, open_items=open_items)  # a full review: say so before the modal opens
    return release


async def may_add_action_item(
    session: AsyncSession, ctx: ServiceContext, actor: Actor, release: Release, review: Review, members: Members
) -> None:
    """Action items come out of the review: its facilitator, a release manager or someone who replied in its
    thread may add one."""
    assert review.id is not None
    replied = await reviews_repo.has_replied(
        session=session, team_id=actor.team_id, review_id=review.id, user_id=actor.user_id
    )
    parties = {Who.FACILITATOR: review.facilitator_id, Who.REPLIER: actor.user_id if replied else None}
    lookup.check(ctx, actor, members, Permission.ADD_ACTION_ITEM, release, parties=parties)


@runs(Kind.REVIEW)
async def run_reviews(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """Time for the post-release review: the prompts go into the release's thread."""
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.pk for job in due], worker=worker):
            return
        for job in due:
            release = await releases_repo.get_by_id(session=session, team_id=team_id, release_id=job.release_id or 0)
            if release is None or release.status not in REVIEWABLE:
                await jobs.finish(session=session, job_ids=[job.pk], status="dropped", error="not reviewable")
                continue
            existing = await reviews_repo.for_release(session=session, team_id=team_id, release_id=release.pk)
            if existing is None:
                reason = str(job.payload.get("reason", "deployed"))
                await open_review(session, ctx, release, started_by="shipmate", reason=reason)
            await jobs.finish(session=session, job_ids=[job.pk])
