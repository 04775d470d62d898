"""What to remind whom, and when. Pure: the services gather the facts, these functions decide.

Jobs are rows with a `kind`, a `target` and a `dedupe_key`: scheduling the same thing twice is a no-op, and
several overdue jobs of one kind for one target are coalesced into one message.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.approval_policy import ApprovalState, Members
from bot.domain.policy import WEEKDAYS, Environment, is_user_group
from bot.domain.working_hours import WorkingHours

DEFAULT_ACTION_LEAD = timedelta(days=1)
MAX_FAILURES = 8


class Kind(StrEnum):
    APPROVAL = "approval_reminder"  # target: an approver (user or user group); one digest per person
    WINDOW = "window_reminder"  # target: the proposer; release_id set
    REGRESSION = "regression_reminder"  # target: the environment; release_id set
    ACTION_ITEM = "action_item_reminder"  # target: the owner; payload: item id
    REVIEW = "review_prompt"  # target: none; release_id set
    METRICS_DIGEST = "metrics_digest"  # target: the stakeholder channel; weekly, `[metrics] digest`


# Nudges wait for working hours; time-bound notices (a window starts soon, the review opens) do not.
NUDGES = frozenset({Kind.APPROVAL, Kind.REGRESSION, Kind.ACTION_ITEM})


def approval_key(entity: str) -> str:
    return f"approval:{entity}"


def window_key(release_id: int, window_start: datetime) -> str:
    return f"window:{release_id}:{int(window_start.timestamp())}"


def regression_key(release_id: int, environment: str) -> str:
    return f"regression:{release_id}:{environment}"


def action_item_key(item_id: int) -> str:
    return f"action:{item_id}"


def review_key(release_id: int) -> str:
    return f"review:{release_id}"


def digest_key(spec: str, timezone: str) -> str:
    """One weekly digest job per schedule: a changed schedule makes a new job, and the old one is dropped."""
    return f"metrics_digest:{spec}:{timezone}"


def next_weekly(spec: str, tz: ZoneInfo, after: datetime) -> datetime:
    """The first `mon 09:00` (wall time in `tz`, DST-correct) strictly after `after`, in UTC."""
    day, clock = spec.split(" ")
    hour, minute = (int(part) for part in clock.split(":"))
    local = after.astimezone(tz)
    for offset in range(8):
        date = (local + timedelta(days=offset)).date()
        if date.weekday() != WEEKDAYS.index(day):
            continue
        moment = datetime(date.year, date.month, date.day, hour, minute, tzinfo=tz).astimezone(UTC)
        if moment > after:
            return moment
    raise AssertionError("every weekday comes round within eight days")  # pragma: no cover


def when_deliverable(kind: str, due: datetime, hours: WorkingHours) -> datetime:
    """The moment a job of `kind` due at `due` may actually go out."""
    return hours.next_working_moment(due) if kind in NUDGES else due


def next_nudge(now: datetime, every: timedelta, hours: WorkingHours) -> datetime:
    """A recurring nudge repeats `every` after it went out (never catching up missed rounds)."""
    return hours.next_working_moment(now + every)


def window_due(window_start: datetime, before: timedelta, now: datetime) -> datetime | None:
    """`before` ahead of the window; right away when that moment has passed; None when the window has begun."""
    if window_start <= now:
        return None
    return max(window_start - before, now)


def action_item_due(due_at: datetime, lead: timedelta, now: datetime) -> tuple[datetime, str]:
    """First reminder of an action item: `lead` before it is due, or at the due time when that is sooner."""
    heads_up = due_at - lead
    if heads_up > now:
        return heads_up, "before"
    return max(due_at, now), "due"


def approver_entities(env: Environment, state: ApprovalState, release_managers: Sequence[str]) -> list[str]:
    """Who is asked for the approvals `env` still lacks: its approvers (or groups), else the release managers."""
    if state.met or state.rejected_by:
        return []
    if env.approval_groups:
        short = [g for g in env.approval_groups if not any(p.name == g.name and p.met for p in state.groups)]
        entities = [member for group in short for member in group.members]
    else:
        entities = list(env.approvers) or list(release_managers)
    return list(dict.fromkeys(e for e in entities if e not in state.approved_by))


@dataclass(frozen=True)
class Waiting:
    """One release waiting on someone's approval for one environment."""

    release_id: int
    ref: str
    environment: str
    have: int
    required: int
    since: datetime
    contents: str = ""  # "14 commits, 6 pull requests, 3 tickets", when its notes are computed


def waiting_on_users(
    items: Iterable[tuple[Waiting, Sequence[str], Sequence[str], ApprovalState]], members: Members
) -> dict[str, list[Waiting]]:
    """Person → what waits on them. `items`: (what, entities asked, people who may not approve it, state).
    Groups expand to members; the proposer, the scope's authors (the barred) and anyone who already
    decided are left out."""
    result: dict[str, list[Waiting]] = {}
    for waiting, entities, barred, state in items:
        users: list[str] = []
        for entity in entities:
            users.extend(sorted(members.get(entity, frozenset())) if is_user_group(entity) else [entity])
        for user in dict.fromkeys(users):
            if user in barred or user in state.approved_by or user in state.rejected_by:
                continue
            result.setdefault(user, []).append(waiting)
    return result


def digest_recipients(
    due_entities: Iterable[str], waiting: Mapping[str, list[Waiting]], members: Members, scheduled: Iterable[str]
) -> dict[str, list[Waiting]]:
    """The people to remind now: those named by a due job (directly or through a due group job). A person who
    has a job of their own is reminded by it, not again through a group's."""
    own = set(scheduled)
    chosen: set[str] = set()
    for entity in due_entities:
        if is_user_group(entity):
            chosen.update(user for user in members.get(entity, frozenset()) if user not in own)
        else:
            chosen.add(entity)
    return {user: waiting[user] for user in sorted(chosen) if waiting.get(user)}


def backoff(failures: int) -> timedelta:
    return timedelta(seconds=min(600, 5 * 2**failures))
