"""The change advisory board (`[cab]`): when it meets, when its agenda goes out, what is on it, and who decides.

A normal change whose risk is in `[risk] cab` needs the CAB's approval before the final environment (the "cab"
gate). The agenda goes to the CAB channel `agenda_before` the weekly meeting and lists every such change still
undecided (or deferred) that is unplanned or planned before the meeting after next. CAB members decide with its
buttons; release managers may decide out of band on a change planned before the next meeting (the history says
so); a proposer never decides their own."""

from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.errors import NotAllowed
from bot.domain.message import When, mentions
from bot.domain.policy import Members, Policy, includes
from bot.domain.reminders import next_weekly
from bot.domain.timeparse import parse_duration

WEEK = timedelta(days=7)


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    DEFER = "defer"

    @property
    def past(self) -> str:
        return {"approve": "approved", "reject": "rejected", "defer": "deferred"}[self.value]


def configured(policy: Policy) -> bool:
    return bool(policy.cab.channel and policy.cab.meets)


def next_meeting(policy: Policy, now: datetime) -> datetime | None:
    """The CAB's next weekly meeting strictly after `now` (UTC), in the policy's time zone."""
    if not configured(policy):
        return None
    assert policy.cab.meets is not None
    return next_weekly(policy.cab.meets, ZoneInfo(policy.timezone), now)


def agenda_due(policy: Policy, meeting: datetime) -> datetime:
    return meeting - parse_duration(policy.cab.agenda_before)


def upcoming(policy: Policy, now: datetime) -> datetime | None:
    """The meeting whose agenda is current at `now`: the next one (its agenda may already be out)."""
    return next_meeting(policy, now)


def horizon(meeting: datetime) -> datetime:
    """Changes planned before the meeting after `meeting` are on its agenda."""
    return meeting + WEEK


def on_agenda(decision: str | None) -> bool:
    """Undecided and deferred changes are on the agenda; approved and rejected ones are settled."""
    return decision in (None, Decision.DEFER)


def may_decide(policy: Policy, user_id: str, members: Members, *, proposer_id: str, ref: str) -> bool:
    """Whether `user_id` decides as a CAB member (True) or out of band as a release manager (False); refuses
    anyone else, and the proposer."""
    member = includes(policy.cab.members, user_id, members)
    manager = policy.is_release_manager(user_id, members)
    if user_id == proposer_id and (member or manager):
        raise NotAllowed(
            "You proposed {ref}, so you cannot decide on it for the CAB (separation of duties).",
            ref=ref,
        )
    if member:
        return True
    if manager:
        return False
    raise NotAllowed(
        "Only CAB members ({members}) decide on {ref} for the CAB; "
        "release managers ({managers}) may decide out of band.",
        members=mentions(policy.cab.members),
        ref=ref,
        managers=mentions(policy.release_managers) or "none",
    )


def check_out_of_band(ref: str, window_start: datetime | None, meeting: datetime) -> None:
    """Release managers decide out of band only on a change that cannot wait for the meeting: one planned before it."""
    if window_start is not None and window_start < meeting:
        return
    planned = "is not planned yet" if window_start is None else "is planned after the CAB's next meeting"
    raise NotAllowed(
        "{ref} {planned}, so the CAB decides it at its meeting on {meeting}. Release managers decide out of band "
        "only on changes planned before then (`/release schedule {ref} <when>`).",
        ref=ref,
        planned=planned,
        meeting=When(meeting),
    )
