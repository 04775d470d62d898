"""App Home: one person's view of releases awaiting their approval, their releases in flight, what is planned
and frozen ahead, and their open action items. A fixed number of queries, whatever the numbers."""

from dataclasses import dataclass, field

from bot.domain import approval_policy
from bot.domain.approval_policy import ApprovalState
from bot.domain.delivery_metrics import Measures
from bot.domain.delivery_report import Line, lines
from bot.domain.errors import NotAllowed
from bot.domain.lifecycle import OPEN
from bot.services import agenda, approvals, delivery
from bot.services.agenda import Agenda
from bot.services.context import Actor, ServiceContext
from storage.models import ActionItem, Release
from storage.repositories import approvals as approvals_repo
from storage.repositories import deploy_requests as requests_repo
from storage.repositories import home as home_repo
from storage.repositories import releases as releases_repo

AHEAD_DAYS = 14


@dataclass(frozen=True)
class Awaiting:
    release: Release
    state: ApprovalState  # the environment this person can approve for


@dataclass(frozen=True)
class HomeView:
    user_id: str
    awaiting: list[Awaiting]
    mine: list[Release]
    agenda: Agenda
    action_items: list[tuple[ActionItem, Release]]
    notice: str | None = None
    deploying: dict[int, list[str]] = field(default_factory=dict)  # release id → environments being deployed to
    delivery_measures: Measures | None = None  # the workspace's delivery measures, last 30 days

    @property
    def delivery_lines(self) -> list[Line]:
        return lines(self.delivery_measures) if self.delivery_measures is not None else []


async def home(ctx: ServiceContext, actor: Actor, *, notice: str | None = None) -> HomeView:
    members = await ctx.members(actor.team_id)
    async with ctx.db.read() as session:
        open_releases = await releases_repo.with_status(session=session, team_id=actor.team_id, statuses=OPEN)
        ids = [release.pk for release in open_releases]
        decisions = await approvals_repo.pending_for_releases(session=session, team_id=actor.team_id, release_ids=ids)
        mine = await home_repo.proposed_by(session=session, team_id=actor.team_id, user_id=actor.user_id, statuses=OPEN)
        items = await home_repo.open_action_items(session=session, team_id=actor.team_id, owner_id=actor.user_id)
        requests = await requests_repo.open_for_releases(
            session=session, team_id=actor.team_id, release_ids=[release.pk for release in mine]
        )
    awaiting = []
    for release in open_releases:
        states = approval_policy.states(
            ctx.policy,
            proposer_id=release.proposer_id,
            decisions=decisions.get(release.pk, []),
            members=members,
            scope_author_id=release.scope_changed_by or None,
        )
        state = _awaiting_me(ctx, release, states, actor.user_id, members)
        if state is not None:
            awaiting.append(Awaiting(release, state))
    ahead = await agenda.agenda(ctx, actor.team_id, AHEAD_DAYS)
    deploying = {release_id: [r.environment for r in rows] for release_id, rows in requests.items() if rows}
    measures = await delivery.summary(ctx, actor.team_id)
    return HomeView(actor.user_id, awaiting, list(mine), ahead, list(items), notice, deploying, measures)


def _awaiting_me(
    ctx: ServiceContext,
    release: Release,
    states: list[ApprovalState],
    user_id: str,
    members: approval_policy.Members,
) -> ApprovalState | None:
    """The first environment short of approvals that this person may approve and has not decided on."""
    for state in states:
        if state.met or state.rejected_by or user_id in state.approved_by:
            continue
        env = ctx.policy.environment(state.environment)
        if env is None:
            continue
        try:
            approvals.may_approve(ctx, release, env, user_id, members)
        except NotAllowed:
            continue
        return state
    return None
