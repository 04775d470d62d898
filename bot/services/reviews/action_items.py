"""Action items from a review: add, mark done, list; owners are nudged before and after the due date."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import reminders
from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.errors import InvalidInput, InvalidTransition, NotFound
from bot.domain.message import Mention, Message
from bot.domain.permissions import Permission, Who
from bot.domain.reminders import Kind
from bot.domain.review import check_room
from bot.domain.timeparse import parse_duration, parse_when, zone
from bot.domain.validation import MAX_REASON, ReleaseRef, check_text
from bot.render import render
from bot.services.kernel import lookup, refusals, release_state
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.reviews.reviews import may_add_action_item
from storage.models import ActionItem, Release
from storage.repositories import action_items as items_repo
from storage.repositories import jobs, outbox
from storage.repositories import reviews as reviews_repo

PAST_GRACE = timedelta(minutes=1)


def parse_due(text: str, ctx: ServiceContext) -> datetime:
    """A due time as people give it; a date alone means the end of that day in the team's time zone."""
    raw = text.strip()
    if not raw:
        raise InvalidInput(
            "The due date is missing; give one like `+3d`, `2026-12-01` or `2026-12-01T17:00`.", field="due"
        )
    tz = zone(ctx.policy.timezone)
    due = parse_when(raw, now=ctx.now(), tz=tz)
    if len(raw) == 10 and raw[4] == "-":
        due += timedelta(days=1)
    if due < ctx.now() - PAST_GRACE:
        raise InvalidInput(
            "The due date {raw} is in the past; give a later one, like `+3d` or a date.", field="due", raw=raw
        )
    return due


@dataclass(frozen=True)
class Added:
    item: ActionItem
    release: Release
    message: Message


async def add(
    ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int, owner_id: str, due_text: str, text: str
) -> Added:
    text = check_text(text, label="text of the action item", limit=MAX_REASON, field="text")
    if not owner_id:
        raise InvalidInput("Pick who owns the action item.", field="owner")
    due_at = parse_due(due_text, ctx)
    members = await ctx.members(actor.team_id)
    async with refusals.audited(ctx, actor, "add action item", release=ref), ctx.db.transaction() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)
        review = await reviews_repo.for_release(session=session, team_id=actor.team_id, release_id=release.pk)
        if review is None:
            raise InvalidTransition(
                "{ref} has no review yet; action items come out of one (`/release review start {ref}`).",
                ref=release.ref,
            )
        await may_add_action_item(session, ctx, actor, release, review, members)
        open_items, owned = await items_repo.open_counts(
            session=session, team_id=actor.team_id, release_id=release.pk, owner_id=owner_id
        )
        check_room(release.ref, open_items=open_items, owner_id=owner_id, owned=owned)
        item = items_repo.add(
            session,
            ActionItem(
                team_id=actor.team_id,
                release_id=release.pk,
                owner_id=owner_id,
                due_at=due_at,
                text=text,
                created_by=actor.user_id,
            ),
        )
        await session.flush()
        assert item.id is not None
        change = ReleaseChange(
            Audit.ACTION_ITEM_ADDED,
            {"id": item.id, "owner": owner_id, "due_at": due_at.isoformat(), "text": text},
            thread=post("thread_action_item", item=item, actor=actor.user_id),
            card=False,
        )
        await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
        await _assigned(session, ctx, item, release, actor.user_id)
    message = Message(
        "Added action item #{id} for {owner} on {ref}.", id=item.id, owner=Mention(owner_id), ref=release.ref
    )
    return Added(item, release, message)


async def _assigned(session: AsyncSession, ctx: ServiceContext, item: ActionItem, release: Release, by: str) -> None:
    """The owner hears of it now, and is nudged before it is due (then until it is done)."""
    assert item.id is not None
    outbox.direct(
        session=session,
        team_id=item.team_id,
        user_id=item.owner_id,
        payload=render("action_items_dm", heading="assigned", entries=[(item, release)], by=by),
    )
    lead = parse_duration(ctx.policy.reminders.action_item_before)
    first, phase = reminders.action_item_due(item.due_at, lead, ctx.now())
    await jobs.ensure(
        session=session,
        team_id=item.team_id,
        kind=Kind.ACTION_ITEM,
        dedupe_key=reminders.action_item_key(item.id),
        due_at=first,
        target=item.owner_id,
        payload={"item_id": item.id, "phase": phase},
    )


async def done(ctx: ServiceContext, actor: Actor, item_id: int) -> Message:
    members = await ctx.members(actor.team_id)
    async with (
        refusals.audited(ctx, actor, "mark action item done", item=item_id) as subject,
        ctx.db.transaction() as session,
    ):
        item = await items_repo.get(session=session, team_id=actor.team_id, item_id=item_id, lock=True)
        if item is None:
            raise NotFound("There is no action item #{id}. See the open ones with `/release actions`.", id=item_id)
        subject.release = item.release_id
        if item.status == "done":
            return Message("Action item #{id} is already done.", id=item_id)
        parties = {Who.ITEM_OWNER: item.owner_id, Who.ITEM_AUTHOR: item.created_by}
        lookup.check(ctx, actor, members, Permission.CLOSE_ACTION_ITEM, ref=str(item_id), parties=parties)
        item.status, item.done_at, item.done_by = "done", ctx.now(), actor.user_id
        session.add(item)
        await jobs.drop(
            session=session,
            team_id=actor.team_id,
            dedupe_keys=[reminders.action_item_key(item_id)],
            reason="done",
        )
        release = await lookup.release(session, team_id=actor.team_id, ref=item.release_id, lock=True)
        change = ReleaseChange(
            Audit.ACTION_ITEM_DONE,
            {"id": item_id},
            thread=post("thread_action_item_done", item=item, actor=actor.user_id),
            card=False,
        )
        await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
    return Message("Marked action item #{id} done.", id=item_id)


async def open_items(ctx: ServiceContext, actor: Actor, *, mine: bool) -> Sequence[tuple[ActionItem, Release]]:
    """Open items (yours only with `mine`), soonest due first; also what App Home shows."""
    async with ctx.db.read() as session:
        return await items_repo.open_items(
            session=session, team_id=actor.team_id, owner_id=actor.user_id if mine else None
        )
