"""App Home: one person's view of releases awaiting their approval, their releases in flight, what is planned
and frozen ahead, their deploy locks and places in lock queues, and their open action items. A fixed number of
queries, whatever the numbers; the view is made of values (plain rows, frozen dataclasses), so the same view
renders once."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from bot.domain import approval_policy, change_classes, permissions
from bot.domain.approval_policy import ApprovalState
from bot.domain.delivery_metrics import Measures
from bot.domain.delivery_report import Line, lines
from bot.domain.lifecycle import OPEN
from bot.domain.permissions import Permission
from bot.domain.policy import Members, includes
from bot.services.change import agenda
from bot.services.change.agenda import Agenda
from bot.services.change.locks import MyLock, QueuePlace, of_person
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.metrics import delivery
from storage.db import Database, Reader
from storage.repositories import approvals as approvals_repo
from storage.repositories import deploy_requests as requests_repo
from storage.repositories import home as home_repo
from storage.repositories import releases as releases_repo
from storage.repositories.home import ItsRelease, MyRelease, OpenItem, OpenRelease
from storage.repositories.releases import OwedRetro

AHEAD_DAYS = 14
SHOWN = 10  # releases awaiting the person that the tab lists
PAGE = 25  # open releases read at a time while looking for them
SCANNED = 200  # at most this many of the newest open releases are looked at


@dataclass(frozen=True)
class Awaiting:
    release: OpenRelease
    state: ApprovalState  # the environment this person can approve for


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
    writes = ctx.db.writes_ended  # before reading: a write that ends meanwhile makes what is read here stale
    async with ctx.db.quick_rows() as session:  # plain rows: an open builds no ORM object
        awaiting, more = (
            await _awaiting(session, ctx, actor, (approves, emergency_approves), members)
            if emergency_approves
            else ([], False)
        )
        mine = await home_repo.proposed_by(session=session, team_id=actor.team_id, user_id=actor.user_id, statuses=OPEN)
        items = await home_repo.open_action_items(session=session, team_id=actor.team_id, owner_id=actor.user_id)
        deploying = await requests_repo.open_environments(
            session=session, team_id=actor.team_id, release_ids=[release.id for release in mine]
        )
        ahead = await _agenda(ctx, actor.team_id, writes)
        locks, queued = await of_person(session, team_id=actor.team_id, user_id=actor.user_id, at=ctx.now())
        retro = await releases_repo.awaiting_retro(session=session, team_id=actor.team_id)
    measures = await delivery.summary(ctx, actor.team_id)
    return HomeView(
        actor.user_id,
        awaiting,
        mine,
        ahead,
        items,
        notice,
        deploying,
        measures,
        more_awaiting=more,
        locks=tuple(locks),
        queued=tuple(queued),
        retro=tuple(_owed(release, now=ctx.now()) for release in retro),
    )


async def _awaiting(
    session: Reader, ctx: ServiceContext, actor: Actor, approves: tuple[set[str], set[str]], members: Members
) -> tuple[list[Awaiting], bool]:
    """The newest open releases awaiting this person, up to what the tab shows, and whether more wait: read a
    page at a time (newest first) and stop once the tab is full, so the cost does not grow with the backlog.
    Their own releases and those whose scope they changed since it was proposed are never theirs to approve."""
    found: list[Awaiting] = []
    before: int | None = None
    for _ in range(SCANNED // PAGE):
        page = await home_repo.open_releases(
            session=session, team_id=actor.team_id, statuses=OPEN, limit=PAGE, before_id=before
        )
        theirs = [r.id for r in page if actor.user_id != r.proposer_id and actor.user_id not in r.authors]
        decisions = await approvals_repo.decisions_of(session=session, team_id=actor.team_id, release_ids=theirs)
        for release in page:
            if release.id not in decisions:
                continue
            states = approval_policy.states(
                change_classes.view(ctx.policy, release),
                proposer_id=release.proposer_id,
                decisions=decisions[release.id],
                members=members,
                scope_authors=release.authors,
            )
            emergency = change_classes.in_emergency(release)
            state = _awaiting_me(states, actor.user_id, approves[1] if emergency else approves[0])
            if state is None:
                continue
            if len(found) == SHOWN:
                return found, True
            found.append(Awaiting(release, state))
        if len(page) < PAGE:
            break
        before = page[-1].id
    return found, False


# The workspace's agenda (windows and freezes ahead, with their conflicts) is the same for everyone who opens the
# tab: read at most this long ago, unless this process wrote anything since (another process's writes show within
# these seconds).
AGENDA_KEPT = timedelta(seconds=5)
_agendas: WeakKeyDictionary[Database, dict[str, tuple[int, Agenda]]] = WeakKeyDictionary()  # team → (writes, agenda)


async def _agenda(ctx: ServiceContext, team_id: str, writes: int) -> Agenda:
    kept = _agendas.setdefault(ctx.db, {})
    found = kept.get(team_id)
    if found is not None and found[0] == writes and timedelta(0) <= ctx.now() - found[1].start < AGENDA_KEPT:
        return found[1]
    async with ctx.db.quick_read() as session:
        ahead = await agenda.agenda_in(session, ctx, team_id, AHEAD_DAYS)
    kept[team_id] = (writes, ahead)
    return ahead


def _awaiting_me(states: list[ApprovalState], user_id: str, approves: set[str]) -> ApprovalState | None:
    """The first environment short of approvals that this person approves for and has not decided on."""
    for state in states:
        if state.met or state.rejected_by or user_id in state.approved_by:
            continue
        if state.environment in approves:
            return state
    return None
