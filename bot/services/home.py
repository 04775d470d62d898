"""App Home: one person's view of releases awaiting their approval, their releases in flight, what is planned
and frozen ahead, their deploy locks and places in lock queues, and their open action items. A fixed number of
queries, whatever the numbers; the view is made of values (plain rows, frozen dataclasses), so the same view
renders once."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from bot.domain import approval_policy, change_classes, permissions
from bot.domain.approval_policy import ApprovalState
from bot.domain.delivery_metrics import Measures
from bot.domain.delivery_report import Line, lines
from bot.domain.lifecycle import OPEN
from bot.domain.permissions import Permission
from bot.domain.policy import includes
from bot.services.change import agenda
from bot.services.change.agenda import Agenda
from bot.services.change.locks import MyLock, QueuePlace, person_view
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.kernel.kept import Kept, Stamp
from bot.services.metrics import delivery
from storage.db import Reader
from storage.repositories import approvals as approvals_repo
from storage.repositories import home as home_repo
from storage.repositories import releases as releases_repo
from storage.repositories.home import ItsRelease, MyRelease, OpenItem, OpenRelease
from storage.repositories.releases import OwedRetro

AHEAD_DAYS = 14
SHOWN = 10  # releases awaiting the person that the tab lists
PAGE = 25  # open releases read at a time while looking for them
SCANNED = 200  # at most this many of the newest open releases are looked at


@dataclass(frozen=True)
class Weighed:
    """An open release with its approval states: the same for everyone (whether it awaits one person is decided
    from them per open). Kept with the board and never changed, so a render keys it once (`bot/render.py`)."""

    shared_unchanged: ClassVar[bool] = True
    release: OpenRelease
    states: tuple[ApprovalState, ...]
    emergency: bool


@dataclass(frozen=True)
class Awaiting:
    weighed: Weighed
    state: ApprovalState  # the environment this person can approve for

    @property
    def release(self) -> OpenRelease:
        return self.weighed.release


@dataclass(frozen=True)
class OwedApproval:
    """An emergency change in production still owing its full approval, as App Home shows it (values only, so the
    same view renders once: whether it is overdue is decided here, not from the moment of each open)."""

    release_id: int
    service: str
    version: str
    proposer_id: str
    summary: str
    due: datetime
    overdue: bool


def _owed(release: OwedRetro, *, now: datetime) -> OwedApproval:
    due = release.retro_due_at
    return OwedApproval(
        release.id, release.service, release.version, release.proposer_id, release.summary, due, due < now
    )


@dataclass(frozen=True)
class HomeView:
    user_id: str
    awaiting: list[Awaiting]
    mine: list[MyRelease]
    agenda: Agenda
    action_items: list[tuple[OpenItem, ItsRelease]]
    notice: str | None = None
    deploying: dict[int, list[str]] = field(default_factory=dict)  # release id → environments being deployed to
    delivery_measures: Measures | None = None  # the workspace's delivery measures, last 30 days
    more_awaiting: bool = False  # more than `awaiting` wait for this person
    locks: tuple[MyLock, ...] = ()  # deploy locks this person holds (or is offered)
    queued: tuple[QueuePlace, ...] = ()  # their places in lock queues
    retro: tuple["OwedApproval", ...] = ()  # emergency changes in production still owing their full approval

    @property
    def delivery_lines(self) -> list[Line]:
        return lines(self.delivery_measures) if self.delivery_measures is not None else []


async def home(ctx: ServiceContext, actor: Actor, *, notice: str | None = None) -> HomeView:
    members = await ctx.members(actor.team_id)
    # Where this person approves at all is a property of the policy, decided once, not once per release.
    approves = {
        env.name
        for env in ctx.policy.environments
        if env.needs_approval
        and permissions.rule(env, Permission.APPROVE).admits(actor.user_id, members, ctx.policy.release_managers)
    }
    # An emergency approver approves an emergency change for the first environment, whatever the policy lists there.
    emergency = includes(change_classes.emergency_approvers(ctx.policy), actor.user_id, members)
    emergency_approves = approves | {ctx.policy.environment_names[0]} if emergency else approves
    # Stamped before reading: a write that ends meanwhile makes what is read here stale.
    stamp = Stamp(ctx.db.changes_ended, ctx.now(), ctx.policy, members)
    async with ctx.db.quick_rows() as session:  # plain rows: an open builds no ORM object
        awaiting, more = (
            await _awaiting(session, ctx, actor, (approves, emergency_approves), stamp)
            if emergency_approves
            else ([], False)
        )
        own = await home_repo.own(
            session=session, team_id=actor.team_id, user_id=actor.user_id, statuses=OPEN, at=ctx.now()
        )
        ahead = await _agenda(ctx, actor.team_id, stamp)
        retro = await _owed_now(session, ctx, actor.team_id, stamp)
    locks, queued = person_view(own.held, own.places)
    measures = await delivery.summary(ctx, actor.team_id)
    return HomeView(
        actor.user_id,
        awaiting,
        own.mine,
        ahead,
        own.items,
        notice,
        own.deploying,
        measures,
        more_awaiting=more,
        locks=tuple(locks),
        queued=tuple(queued),
        retro=retro,
    )


# What every open of the tab shares, read once for the workspace and kept a few seconds (`bot/services/kernel/kept.py`):
# unless this process wrote anything since, another process's writes show within these seconds.
KEPT = timedelta(seconds=5)


@dataclass
class OpenBoard:
    """The workspace's newest open releases, weighed, read a page at a time as far as some open needed them."""

    pages: list[tuple[Weighed, ...]] = field(default_factory=list)
    ended: bool = False  # the last page read was the oldest
    before: int | None = None  # the next page is older than this release


_boards: Kept[OpenBoard] = Kept(KEPT)
_agendas: Kept[Agenda] = Kept(KEPT)
_retro: Kept[tuple[OwedApproval, ...]] = Kept(KEPT)


async def _awaiting(
    session: Reader, ctx: ServiceContext, actor: Actor, approves: tuple[set[str], set[str]], stamp: Stamp
) -> tuple[list[Awaiting], bool]:
    """The newest open releases awaiting this person, up to what the tab shows, and whether more wait: the
    workspace's board read a page at a time (newest first) only as far as someone needed, so the cost does not
    grow with the backlog. Their own releases and those whose scope they changed since it was proposed are never
    theirs to approve."""
    board = _boards.get(ctx.db, actor.team_id, stamp) or _boards.put(ctx.db, actor.team_id, stamp, OpenBoard())
    found: list[Awaiting] = []
    for index in range(SCANNED // PAGE):
        if index == len(board.pages) and (
            board.ended or not await _read_page(session, ctx, actor.team_id, board, stamp)
        ):
            break
        for weighed in board.pages[index]:
            release = weighed.release
            if actor.user_id == release.proposer_id or actor.user_id in release.authors:
                continue
            state = _awaiting_me(weighed.states, actor.user_id, approves[1] if weighed.emergency else approves[0])
            if state is None:
                continue
            if len(found) == SHOWN:
                return found, True
            found.append(Awaiting(weighed, state))
    return found, False


async def _read_page(session: Reader, ctx: ServiceContext, team_id: str, board: OpenBoard, stamp: Stamp) -> bool:
    """The board's next page, weighed with the members it is kept for (False: there is none)."""
    index = len(board.pages)
    page = await home_repo.open_releases(
        session=session, team_id=team_id, statuses=OPEN, limit=PAGE, before_id=board.before
    )
    decisions = await approvals_repo.decisions_of(session=session, team_id=team_id, release_ids=[r.id for r in page])
    weighed = tuple(
        Weighed(
            release,
            tuple(
                approval_policy.states(
                    change_classes.view(ctx.policy, release),
                    proposer_id=release.proposer_id,
                    decisions=decisions[release.id],
                    members=stamp.members,
                    scope_authors=release.authors,
                )
            ),
            change_classes.in_emergency(release),
        )
        for release in page
    )
    if index == len(board.pages):  # another open may have read it meanwhile
        board.pages.append(weighed)
        board.ended, board.before = len(page) < PAGE, page[-1].id if page else None
    return bool(weighed)


async def _agenda(ctx: ServiceContext, team_id: str, stamp: Stamp) -> Agenda:
    kept = _agendas.get(ctx.db, team_id, stamp)
    if kept is not None:
        return kept
    async with ctx.db.quick_read() as session:
        return _agendas.put(ctx.db, team_id, stamp, await agenda.agenda_in(session, ctx, team_id, AHEAD_DAYS))


async def _owed_now(session: Reader, ctx: ServiceContext, team_id: str, stamp: Stamp) -> tuple[OwedApproval, ...]:
    """Emergency changes in production still owing their full approval: the workspace's, kept as the board is."""
    kept = _retro.get(ctx.db, team_id, stamp)
    if kept is not None:
        return kept
    owed = await releases_repo.awaiting_retro(session=session, team_id=team_id)
    return _retro.put(ctx.db, team_id, stamp, tuple(_owed(release, now=stamp.at) for release in owed))


def _awaiting_me(states: Sequence[ApprovalState], user_id: str, approves: set[str]) -> ApprovalState | None:
    """The first environment short of approvals that this person approves for and has not decided on."""
    for state in states:
        if state.met or state.rejected_by or user_id in state.approved_by:
            continue
        if state.environment in approves:
            return state
    return None
