"""What App Home shows everyone (the agenda, the open releases and their approval states) is the workspace's, kept
a few seconds (`bot/services/home.py`), on SQLite and PostgreSQL: a write this process made shows at once; another
process's write shows once what was kept is `KEPT` old."""

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.policy import Policy
from bot.domain.proposal import ProposeRequest
from bot.notify.dispatcher import Dispatcher
from bot.render import _key
from bot.services import home
from bot.services.approvals import approvals
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.releases import releases
from bot.settings import Settings
from storage.db import Database
from storage.models import Freeze, OutboxMessage
from storage.repositories import freezes, outbox
from tests.fakes.senders import PostSender

TEAM = "T0TEAM"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


async def _freeze(db: Database, clock: Clock, reason: str) -> None:
    async with db.transaction() as session:
        start = clock.at + timedelta(days=1)
        row = Freeze(
            team_id=TEAM, environment="prod", start_at=start, end_at=start + timedelta(hours=2), reason=reason,
            created_by="U0RM",
        )  # fmt: skip
        freezes.add(session, row)


async def _freeze_elsewhere(database_url: str, clock: Clock, reason: str) -> None:
    """A freeze written by another process on the same database."""
    other = Database(database_url)
    try:
        await _freeze(other, clock, reason)
    finally:
        await other.dispose()


@pytest.fixture
def clocked(db: Database, database_url: str, policy: Policy) -> tuple[ServiceContext, Clock]:
    """The services on `db`, with a clock the test moves."""
    clock = Clock()
    settings = Settings(_env_file=None, database_url=database_url)
    return ServiceContext(db=db, policy=policy, settings=settings, now=clock), clock


def _reasons(view: home.HomeView) -> list[str]:
    return [item.freeze.reason for item in view.agenda.items if item.freeze is not None]


async def test_the_agenda_is_kept_a_few_seconds_and_a_write_here_shows_at_once(
    db: Database, database_url: str, clocked: tuple[ServiceContext, Clock]
) -> None:
    (ctx, clock), actor = clocked, Actor(TEAM, "U0ALICE")
    assert _reasons(await home.home(ctx, actor)) == []

    await _freeze(db, clock, "written here")  # this process's write: the next open reads the agenda again
    assert _reasons(await home.home(ctx, actor)) == ["written here"]

    await _freeze_elsewhere(database_url, clock, "written elsewhere")
    clock.at += home.KEPT - timedelta(seconds=1)
    assert _reasons(await home.home(ctx, actor)) == ["written here"]  # kept: at most AGENDA_KEPT old
    clock.at += timedelta(seconds=1)
    assert sorted(_reasons(await home.home(ctx, actor))) == ["written elsewhere", "written here"]

    other_team = await home.home(ctx, Actor("T0OTHER", "U0ALICE"))  # each workspace its own agenda
    assert _reasons(other_team) == []


class Posts(PostSender):
    async def send(self, message: OutboxMessage) -> str | None:
        return "1700000000.000100"


async def test_delivering_messages_is_no_write_that_ends_what_is_kept(
    db: Database, database_url: str, clocked: tuple[ServiceContext, Clock]
) -> None:
    """The outbox's claims and marks change nothing App Home shows: the agenda read before them is still kept."""
    (ctx, clock), actor = clocked, Actor(TEAM, "U0ALICE")
    async with db.transaction() as session:
        outbox.enqueue(session=session, team_id=TEAM, kind="post", channel="C1", payload={"text": "hello"})
    assert _reasons(await home.home(ctx, actor)) == []
    await _freeze_elsewhere(database_url, clock, "written elsewhere")  # a read of the agenda now would find it

    assert await Dispatcher(db, Posts(), lease=timedelta(seconds=60), poll_interval=1).dispatch_once() == 1
    assert _reasons(await home.home(ctx, actor)) == []  # still the agenda kept before the delivery
    await _freeze(db, clock, "written here")
    assert sorted(_reasons(await home.home(ctx, actor))) == ["written elsewhere", "written here"]


async def test_the_view_is_made_of_values_so_the_same_view_renders_once(
    db: Database, database_url: str, policy: Policy
) -> None:
    ctx = ServiceContext(db=db, policy=policy, settings=Settings(_env_file=None, database_url=database_url))
    await _freeze(db, Clock(), "a freeze")
    view = await home.home(ctx, Actor(TEAM, "U0ALICE"), notice="hello")
    assert _key("home.json.j2", {"view": view}) is not None


class Groups:
    """The approver group S0RELMGR's members, as Slack would say them now."""

    def __init__(self, *members: str) -> None:
        self.now = frozenset(members)

    async def members(self, team_id: str, group_ids: Iterable[str]) -> dict[str, frozenset[str]]:
        return {group_id: self.now if group_id == "S0RELMGR" else frozenset() for group_id in group_ids}


def _awaiting(view: home.HomeView) -> list[str]:
    return [f"{a.release.ref} {a.state.environment}" for a in view.awaiting]


async def test_what_awaits_a_person_is_the_workspaces_board_kept_a_few_seconds(
    db: Database, database_url: str, policy: Policy
) -> None:
    """The open releases and their approval states are read once for everyone who opens the tab: a decision made
    in this process shows at once, another process's once the board is `KEPT` old, and new members of an approver
    group are weighed at their next open."""
    clock, groups = Clock(), Groups()
    settings = Settings(_env_file=None, database_url=database_url)
    ctx = ServiceContext(db=db, policy=policy, settings=settings, now=clock, directory=groups)
    proposer = Actor(TEAM, "U0PAT", "C0RELEASE")
    first = await releases.propose(ctx, proposer, ProposeRequest("api", "1.0", "First"))
    second = await releases.propose(ctx, proposer, ProposeRequest("web", "2.0", "Second"))
    bob, carol, erin = Actor(TEAM, "U0BOB"), Actor(TEAM, "U0CAROL"), Actor(TEAM, "U0ERIN")
    assert _awaiting(await home.home(ctx, bob)) == ["web@2.0 prod", "api@1.0 prod"]
    assert _awaiting(await home.home(ctx, proposer)) == []  # never their own
    assert _awaiting(await home.home(ctx, erin)) == []  # not an approver

    await approvals.approve(ctx, bob, second.pk)  # this process's write: the next open reads the board again
    assert _awaiting(await home.home(ctx, bob)) == ["api@1.0 prod"]
    assert _awaiting(await home.home(ctx, carol)) == ["web@2.0 prod", "api@1.0 prod"]

    other = Database(database_url)  # another process approves
    try:
        await approvals.approve(replace(ctx, db=other), bob, first.pk)
    finally:
        await other.dispose()
    clock.at += home.KEPT - timedelta(seconds=1)
    assert _awaiting(await home.home(ctx, bob)) == ["api@1.0 prod"]  # kept: at most KEPT old
    clock.at += timedelta(seconds=1)
    assert _awaiting(await home.home(ctx, bob)) == []

    groups.now = frozenset({"U0ERIN"})  # Erin joins the approver group: weighed at her next open
    assert _awaiting(await home.home(ctx, erin)) == ["web@2.0 prod", "api@1.0 prod"]
    assert _awaiting(await home.home(ctx, Actor("T0OTHER", "U0BOB"))) == []  # each workspace its own board
