"""`/release show` reads plain rows on a bare connection (`Database.quick_rows()`), never ORM objects: the card it
builds must be the card built from ORM rows (the release a change holds), on SQLite and PostgreSQL, for a release with
something in every part of its card (approvals, a deployment, a deployment under way, computed notes, a window)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import select

from bot.domain.errors import NotFound
from bot.domain.lifecycle import Status
from bot.domain.policy import Policy, parse_policy
from bot.domain.release_notes import CommitInfo, Notes, PullInfo, Standing
from bot.domain.validation import ReleaseRef
from bot.services.kernel import lookup, release_card
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.releases import commits, releases
from bot.settings import Settings
from bot.slack_text import mrkdwn
from storage.db import Database
from storage.models import Approval, Deployment, DeploymentRequest, Release
from storage.repositories import approvals as approvals_repo
from storage.repositories import deployments as deployments_repo
from storage.repositories import release_notes as notes_repo
from storage.repositories import shown as shown_rows
from tests.conftest import POLICY

TEAM = "T0TEAM"
SHA = "a" * 40
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


class Directory:
    async def members(self, team_id: str, group_ids: object) -> dict[str, frozenset[str]]:
        return {"S0RELMGR": frozenset({"U0DAVE"})}


@pytest.fixture
def ctx(db: Database, database_url: str) -> ServiceContext:
    policy: Policy = parse_policy(POLICY + '\n[services.payments]\ngithub_repository = "acme/payments"\n')
    return ServiceContext(
        db=db, policy=policy, settings=Settings(_env_file=None, database_url=database_url), directory=Directory()
    )


async def _release_with_everything(db: Database) -> int:
    async with db.transaction() as session:
        release = Release(
            team_id=TEAM, proposer_id="U0ALICE", channel_id="C0RELEASE", service="payments", version="2.4.0",
            summary="Faster checkout", changes="New cache", rollback_plan="Roll back", risk="high",
            status=Status.IN_PROGRESS, commit_sha=SHA, scope_authors="U0ALICE",
            window_start=NOW + timedelta(days=1), window_end=NOW + timedelta(days=1, hours=2),
        )  # fmt: skip
        session.add(release)
        await session.flush()
        assert release.id is not None
        session.add(
            Approval(team_id=TEAM, release_id=release.id, environment="prod", user_id="U0BOB", decision="approve")
        )
        session.add(
            Deployment(
                team_id=TEAM,
                release_id=release.id,
                service="payments",
                version="2.4.0",
                environment="dev",
                outcome="succeeded",
                actor_id="U0ALICE",
            )
        )
        session.add(
            DeploymentRequest(
                team_id=TEAM,
                request_id="r-1",
                release_id=release.id,
                service="payments",
                version="2.4.0",
                environment="qa",
                action="deploy",
                deployer="webhook",
                requested_by="U0ALICE",
                deadline_at=NOW + timedelta(minutes=30),
            )
        )
        notes = Notes(
            base_sha="b" * 40, head_sha=SHA, standing=Standing.AHEAD, total_commits=2,
            compare_url="https://github.com/acme/payments/compare/b...a",
            commits=(CommitInfo(SHA, "Cache the cart (#12)", "alice"),),
            pulls=(PullInfo(12, "Cache the cart", "alice", "https://github.com/acme/payments/pull/12"),),
        )  # fmt: skip
        await notes_repo.store(session=session, team_id=TEAM, release_id=release.id, notes=notes)
        return release.id


async def _card_from_orm_rows(ctx: ServiceContext, release_id: int) -> release_card.CardView:
    """The card built from ORM rows: the release a change holds, and its decisions, deployments and open requests
    as entities."""
    members = await ctx.members(TEAM)
    async with ctx.db.read() as session:
        release = await lookup.release(session, team_id=TEAM, ref=release_id)
        decisions = await approvals_repo.active(session=session, team_id=TEAM, release_id=release_id)
        deployed = await deployments_repo.for_release(session=session, team_id=TEAM, release_id=release_id)
        requests = (await session.exec(select(DeploymentRequest).where(DeploymentRequest.status == "requested"))).all()
        notes = await release_card.brief_of(session, ctx.policy, release)
    return release_card.build_card(
        ctx.policy,
        release,
        decisions,
        deployed,
        members,
        requests,
        commit_url=commits.url_of(ctx, release),
        notes=notes,
    )


async def test_show_builds_from_plain_rows_the_card_a_change_builds_from_orm_rows(ctx: ServiceContext) -> None:
    release_id = await _release_with_everything(ctx.db)

    shown = await releases.card(ctx, Actor(TEAM, "U0BOB"), ReleaseRef("payments", "2.4.0"))

    assert shown == await _card_from_orm_rows(ctx, release_id)
    assert (shown.release.id, shown.release.commit_sha, shown.status_label) == (
        release_id,
        SHA,
        Status.IN_PROGRESS.label,
    )
    assert shown.pipeline_text == "✅ dev → ⏳ qa → ▫️ prod"
    assert len(shown.deploying) == 1
    assert shown.notes  # "What's in it", from the stored brief
    assert shown.commit_url is not None
    assert SHA in shown.commit_url
    assert [mrkdwn(line).splitlines()[0] for line in shown.approvals] == ["*Approvals for prod* 1/2: <@U0BOB>"]


async def test_show_of_a_release_that_does_not_exist_names_how_to_find_one(ctx: ServiceContext) -> None:
    with pytest.raises(NotFound) as refused:
        await releases.card(ctx, Actor(TEAM, "U0BOB"), ReleaseRef("payments", "9.9.9"))
    assert refused.value.code == NotFound.code
    assert "/release list payments" in str(refused.value)


async def test_show_never_sees_another_workspaces_release(ctx: ServiceContext) -> None:
    await _release_with_everything(ctx.db)
    with pytest.raises(NotFound):
        await releases.card(ctx, Actor("T0OTHER", "U0BOB"), ReleaseRef("payments", "2.4.0"))


async def test_show_reads_in_one_statement_on_postgresql_and_keeps_every_row_in_order(ctx: ServiceContext) -> None:
    """PostgreSQL reads the release and its rows as arrays in one statement (SQLite in four, the notes' brief in
    one more): the card is still the ORM rows' card with several decisions (an invalidated one left out) and
    several deployments, in their order."""
    release_id = await _release_with_everything(ctx.db)
    async with ctx.db.transaction() as session:
        for user, invalidated in (("U0CAROL", NOW), ("U0DAVE", None)):
            session.add(
                Approval(team_id=TEAM, release_id=release_id, environment="prod", user_id=user, decision="approve",
                         invalidated_at=invalidated)
            )  # fmt: skip
        session.add(
            Deployment(team_id=TEAM, release_id=release_id, service="payments", version="2.4.0", environment="dev",
                       outcome="succeeded", actor_id="U0ALICE", rolled_back_at=NOW)
        )  # fmt: skip
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    readers = [getattr(engine, "sync_engine", engine) for name, engine in ctx.db.engines().items() if name != "writer"]
    for engine in readers:
        event.listen(engine, "before_cursor_execute", capture)
    try:
        shown = await releases.card(ctx, Actor(TEAM, "U0BOB"), ReleaseRef("payments", "2.4.0"))
    finally:
        for engine in readers:
            event.remove(engine, "before_cursor_execute", capture)
    assert shown == await _card_from_orm_rows(ctx, release_id)
    assert [mrkdwn(line).splitlines()[0] for line in shown.approvals] == [
        "*Approvals for prod* 2/2: <@U0BOB>, <@U0DAVE> · approved"
    ]
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == (2 if ctx.db.is_postgres else 5), reads  # the release (with its rows), the notes' brief


async def test_a_changes_card_reads_its_deployments_and_requests_as_the_orm_rows_say(ctx: ServiceContext) -> None:
    """A change's new card reads its deployments and open requests together (one statement on PostgreSQL): the
    rows the ORM's entities hold, in their order, of this release in this workspace only."""
    release_id = await _release_with_everything(ctx.db)
    async with ctx.db.transaction() as session:
        session.add(
            Deployment(team_id=TEAM, release_id=release_id, service="payments", version="2.4.0", environment="qa",
                       outcome="failed", actor_id="U0BOB")
        )  # fmt: skip
    async with ctx.db.transaction() as session:
        deployed, requests = await shown_rows.card_parts(session=session, team_id=TEAM, release_id=release_id)
        elsewhere = await shown_rows.card_parts(session=session, team_id="T0OTHER", release_id=release_id)
    async with ctx.db.read() as session:
        entities = await deployments_repo.for_release(session=session, team_id=TEAM, release_id=release_id)
        open_requests = (await session.exec(select(DeploymentRequest))).all()
    assert [(line.environment, line.outcome) for line in deployed] == [("dev", "succeeded"), ("qa", "failed")]
    assert [(line.id, line.environment, line.outcome) for line in deployed] == [
        (row.id, row.environment, row.outcome) for row in entities
    ]
    assert [(r.environment, r.action, r.deadline_at) for r in requests] == [
        (r.environment, r.action, r.deadline_at) for r in open_requests
    ]
    assert requests[0].deadline_at == NOW + timedelta(minutes=30)  # an aware time, as the column gives it
    assert elsewhere == ([], [])
