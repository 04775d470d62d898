"""App Home: one person's view of releases awaiting their approval, their releases in flight, what is planned
and frozen ahead, and their open action items. A fixed number of queries in one read, whatever the numbers; the
releases awaiting the person are read a page at a time until the tab is full."""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import approval_policy
from bot.domain.approval_policy import ApprovalState
from bot.domain.lifecycle import OPEN
from bot.services import agenda
from bot.services.agenda import Agenda
from bot.services.context import Actor, ServiceContext
from storage.models import ActionItem, Release
from storage.repositories import home as home_repo

AHEAD_DAYS = 14
SHOWN = 10  # releases awaiting the person that the tab lists
PAGE = 25  # open releases read at a time while looking for them
SCANNED = 200  # at most this many of the newest open releases are looked at


@dataclass(frozen=True)
class Awaiting:
    release: home_repo.OpenRelease
    state: ApprovalState  # the environment this person can approve for


@dataclass(frozen=True)
class HomeView:
    user_id: str
    awaiting: list[Awaiting]
    mine: list[Release]
    agenda: Agenda
    action_items: list[tuple[ActionItem, Release]]
    notice: str | None = None
    more_awaiting: bool = False  # more than `awaiting` wait for this person


async def home(ctx: ServiceContext, actor: Actor, *, notice: str | None = None) -> HomeView:
    members = await ctx.members(actor.team_id)
    # Where this person approves at all is a property of the policy, decided once, not once per release.
    approves = {
        env.name
        for env in ctx.policy.environments
        if env.needs_approval
        and approval_policy.is_approver(
            env, user_id=actor.user_id, release_managers=ctx.policy.release_managers, members=members
        )
    }
    async with ctx.db.read() as session:
        awaiting, more = await _awaiting(session, ctx, actor, approves, members) if approves else ([], False)
        mine = await home_repo.proposed_by(session=session, team_id=actor.team_id, user_id=actor.user_id, statuses=OPEN)
        items = await home_repo.open_action_items(session=session, team_id=actor.team_id, owner_id=actor.user_id)
        ahead = await agenda.agenda_in(session, ctx, actor.team_id, AHEAD_DAYS)
    return HomeView(actor.user_id, awaiting, list(mine), ahead, list(items), notice, more_awaiting=more)


async def _awaiting(
    session: AsyncSession, ctx: ServiceContext, actor: Actor, approves: set[str], members: approval_policy.Members
) -> tuple[list[Awaiting], bool]:
    """The newest open releases awaiting this person, up to what the tab shows, and whether more wait: read a
    page at a time (newest first) and stop once the tab is full, so the cost does not grow with the backlog."""
    found: list[Awaiting] = []
    before: int | None = None
    for _ in range(SCANNED // PAGE):
        page = await home_repo.open_releases(
            session=session, team_id=actor.team_id, statuses=OPEN, limit=PAGE, before_id=before
        )
        decisions = await home_repo.decisions_of(
            session=session, team_id=actor.team_id, release_ids=[r.id for r in page if r.proposer_id != actor.user_id]
        )
        for release in page:
            if release.id not in decisions:
                continue  # their own: the proposer never approves
            states = approval_policy.states(
                ctx.policy, proposer_id=release.proposer_id, decisions=decisions[release.id], members=members
            )
            state = _awaiting_me(states, actor.user_id, approves)
            if state is None:
                continue
            if len(found) == SHOWN:
                return found, True
            found.append(Awaiting(release, state))
        if len(page) < PAGE:
            break
        before = page[-1].id
    return found, False


def _awaiting_me(states: list[ApprovalState], user_id: str, approves: set[str]) -> ApprovalState | None:
    """The first environment short of approvals that this person approves for and has not decided on."""
    for state in states:
        if state.met or state.rejected_by or user_id in state.approved_by:
            continue
        if state.environment in approves:
            return state
    return None
