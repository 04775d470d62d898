"""The change advisory board in Slack: the agenda (posted to `[cab] channel` `agenda_before` each weekly meeting by a
durable job, then kept current in place as changes join or leave it), `/release cab`, and decisions (the agenda's
buttons for CAB members, `/release cab approve|reject|defer` for them and, out of band, for release managers). A
decision is the "cab" gate's answer (`bot.domain.gates.cab_gate`), recorded with who and when."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import cab, change_classes
from bot.domain.cab import Decision
from bot.domain.change import Audit, ReleaseChange, post
from bot.domain.errors import InvalidInput
from bot.domain.lifecycle import OPEN, Act, require
from bot.domain.message import Message, Strong
from bot.domain.validation import MAX_REASON, ReleaseRef, check_text
from bot.render import render
from bot.services.change.agenda import agenda_in
from bot.services.kernel import lookup, refusals, release_state
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.kernel.hooks import HOOKS, Facts
from bot.services.kernel.jobs import runs
from bot.services.kernel.outcome import Outcome
from storage.models import Release, ScheduledJob
from storage.repositories import jobs, outbox
from storage.repositories import releases as releases_repo

JOB = "cab_agenda"
AGENDA_DAYS = 21  # the calendar looked at for conflicts: past the meeting after next


@dataclass(frozen=True)
class AgendaEntry:
    release: Release
    conflicts: Sequence[Message] = ()


@dataclass(frozen=True)
class CabAgenda:
    meeting: datetime
    out: bool  # the agenda for this meeting is posted (its due time has passed)
    members: Sequence[str]
    entries: list[AgendaEntry] = field(default_factory=list)


def _not_configured() -> InvalidInput:
    return InvalidInput(
        "There is no change advisory board: set `[cab] channel`, `members` and `meets` in the policy "
        "(`shipmate policy explain` shows the change classes)."
    )


async def agenda_for(session: AsyncSession, ctx: ServiceContext, team_id: str, meeting: datetime) -> CabAgenda:
    """Every change the CAB should see at `meeting`, with its conflicts, read in the caller's transaction."""
    policy = ctx.policy
    found = await releases_repo.for_cab(
        session=session, team_id=team_id, statuses=OPEN, risks=policy.risk.cab, before=cab.horizon(meeting)
    )
    conflicts: dict[int, Sequence[Message]] = {}
    if any(release.window_start for release in found):
        calendar = await agenda_in(session, ctx, team_id, AGENDA_DAYS)
        conflicts = {item.window.release_id: item.conflicts for item in calendar.items if item.window is not None}
    out = ctx.now() >= cab.agenda_due(policy, meeting)
    entries = [AgendaEntry(release, conflicts.get(release.pk, ())) for release in found]
    return CabAgenda(meeting, out, list(policy.cab.members), entries)


async def show(ctx: ServiceContext, actor: Actor) -> CabAgenda:
    """`/release cab`: the next meeting's agenda."""
    meeting = cab.next_meeting(ctx.policy, ctx.now())
    if meeting is None:
        raise _not_configured()
    async with ctx.db.quick_read() as session:
        return await agenda_for(session, ctx, actor.team_id, meeting)


async def decide(
    ctx: ServiceContext, actor: Actor, ref: ReleaseRef | int, decision: Decision, note: str = "", *, via: str
) -> Outcome:
    """A CAB member's decision (or a release manager's, out of band) on a change that needs the CAB."""
    note = check_text(note, label="note", limit=MAX_REASON, required=False)
    if not cab.configured(ctx.policy):
        raise _not_configured()
    members = await ctx.members(actor.team_id)
    async with refusals.audited(ctx, actor, "cab", release=ref), ctx.db.transaction() as session:
        release = await lookup.release(session, team_id=actor.team_id, ref=ref, lock=True)
        require(Act.APPROVE, release.status, ref=release.ref)
        if not change_classes.needs_cab(ctx.policy, release):
            raise InvalidInput(
                "{ref} does not need the CAB: only normal changes of risk {risks} do (it is {what}).",
                ref=release.ref,
                risks=list(ctx.policy.risk.cab) or ["none"],
                what=change_classes.describe(ctx.policy, release),
            )
        as_member = cab.may_decide(ctx.policy, actor.user_id, members, proposer_id=release.proposer_id, ref=release.ref)
        if not as_member:
            meeting = cab.next_meeting(ctx.policy, ctx.now())
            assert meeting is not None
            cab.check_out_of_band(release.ref, release.window_start, meeting)
        if release.cab_decision == decision and decision != Decision.DEFER:
            return Outcome(
                release,
                Message("{ref} is {past} by the CAB already.", ref=release.ref, past=decision.past),
                changed=False,
            )
        release.cab_decision = decision
        release.cab_decided_by = actor.user_id
        release.cab_decided_at = ctx.now()
        release.cab_note = note or None
        out_of_band = not as_member
        change = ReleaseChange(
            Audit.CAB_DECIDED,
            {"decision": decision.value, "note": note, "out_of_band": out_of_band, "via": via},
            thread=post(
                "thread_cab_decided", actor=actor.user_id, past=decision.past, note=note, out_of_band=out_of_band
            ),
        )
        await release_state.apply(session, ctx, release, change, actor_id=actor.user_id, members=members)
    return Outcome(
        release,
        Message(
            "You {past} {ref} for the CAB{how}.",
            past=Strong(decision.past),
            ref=release.ref,
            how=" (out of band, as a release manager; the history says so)" if out_of_band else "",
        ),
    )


# -- the agenda in the CAB channel --------------------------------------------------------------------------------


def _payload(agenda: CabAgenda, *, fresh: bool) -> dict[str, object]:
    message = render("cab_agenda", agenda=agenda, buttons=True)
    return {**message, outbox.AGENDA_MEETING: agenda.meeting.isoformat(), outbox.AGENDA_FRESH: fresh}


async def plan(session: AsyncSession, ctx: ServiceContext, team_id: str) -> None:
    """The workspace's next agenda is scheduled (a live job keeps its time)."""
    meeting = cab.next_meeting(ctx.policy, ctx.now())
    if meeting is None:
        return
    due = max(ctx.now(), cab.agenda_due(ctx.policy, meeting))
    await jobs.ensure(
        session=session,
        team_id=team_id,
        kind=JOB,
        dedupe_key=_key(ctx),
        due_at=due,
        target=ctx.policy.cab.channel,
        payload={"meeting": meeting.isoformat()},
    )


async def refresh(session: AsyncSession, ctx: ServiceContext, team_id: str) -> None:
    """Once the agenda of the next meeting is out, a change joining or leaving it updates it in place."""
    meeting = cab.next_meeting(ctx.policy, ctx.now())
    if meeting is None or ctx.now() < cab.agenda_due(ctx.policy, meeting):
        return
    await session.flush()
    agenda = await agenda_for(session, ctx, team_id, meeting)
    outbox.enqueue(
        session=session,
        team_id=team_id,
        kind=outbox.AGENDA,
        channel=ctx.policy.cab.channel,
        payload=_payload(agenda, fresh=False),
    )


def _key(ctx: ServiceContext) -> str:
    """One schedule per workspace and meeting time: a new `meets` (or agenda lead, time zone) is a new schedule."""
    rules = ctx.policy.cab
    return f"{JOB}:{rules.meets}:{rules.agenda_before}:{ctx.policy.timezone}"


@runs(JOB)
async def run(ctx: ServiceContext, team_id: str, due: Sequence[ScheduledJob], worker: str) -> None:
    """The agenda fell due: post it to the CAB channel and schedule the next meeting's."""
    async with ctx.db.transaction() as session:
        if not await jobs.fence(session=session, job_ids=[job.pk for job in due], worker=worker):
            return
        for job in due:
            meeting = cab.next_meeting(ctx.policy, ctx.now())
            if meeting is None or not ctx.policy.cab.channel or job.dedupe_key != _key(ctx):
                await jobs.finish(session=session, job_ids=[job.pk], status="dropped", error="CAB schedule changed")
                if meeting is not None:
                    await plan(session, ctx, team_id)  # the new schedule's agenda
                continue
            agenda = await agenda_for(session, ctx, team_id, meeting)
            outbox.enqueue(
                session=session,
                team_id=team_id,
                kind=outbox.AGENDA,
                channel=ctx.policy.cab.channel,
                payload=_payload(agenda, fresh=True),
            )
            following = cab.next_meeting(ctx.policy, meeting)
            assert following is not None
            await jobs.again(
                session=session,
                job_id=job.pk,
                due_at=cab.agenda_due(ctx.policy, following),
                payload={"meeting": following.isoformat()},
            )


@HOOKS.after(Audit.PROPOSED, Audit.REPROPOSED, Audit.SCHEDULED, Audit.CANCELLED, Audit.REJECTED, Audit.CAB_DECIDED)
async def _changed(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    """A change of a CAB risk may have joined or left the agenda: the next one is planned, the one out kept current."""
    if cab.configured(ctx.policy) and release.risk in ctx.policy.risk.cab:
        await plan(session, ctx, release.team_id)
        await refresh(session, ctx, release.team_id)


@HOOKS.after(Audit.EDITED)
async def _edited(session: AsyncSession, ctx: ServiceContext, release: Release, facts: Facts) -> None:
    """An edit may have put the risk on the CAB's list, or taken it off."""
    if cab.configured(ctx.policy) and ctx.policy.risk.cab:
        await plan(session, ctx, release.team_id)
        await refresh(session, ctx, release.team_id)
