"""A known history for the export tests: payments@2.4.0 proposed by U0ALICE, approved twice for prod (one approval
withdrawn before the deployment), deployed to qa, signed off there, deployed to prod by U0RM over a freeze, rolled
back, reviewed, with two action items; and a CI deployment of search@1.0.0 that bypassed gates. Text that a
spreadsheet or Slack would act on is in every free-text field."""

from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database
from storage.models import ActionItem, Approval, Deployment, Release, Review, Verification
from storage.repositories import audit

TEAM = "T0TEAM"
HOSTILE = '=HYPERLINK("http://evil.example/?a=1,2","click") <!channel>\n"quoted", and more'
SHA = "a" * 40


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _release(service: str, version: str, proposer: str, ts: str) -> Release:
    return Release(
        team_id=TEAM,
        service=service,
        version=version,
        summary="s",
        changes="c",
        risk="high",
        rollback_plan="r",
        proposer_id=proposer,
        channel_id="C0RELEASE",
        message_ts=ts,
        commit_sha=SHA if service == "payments" else None,
        created_at=at(1, 9),
    )


def _deployment(release: Release, environment: str, actor: str, when: datetime, **extra: Any) -> Deployment:
    return Deployment(
        team_id=TEAM,
        release_id=release.pk,
        service=release.service,
        version=release.version,
        environment=environment,
        actor_id=actor,
        created_at=when,
        **extra,
    )


def _deployed_event(session: AsyncSession, deployment: Deployment, **details: object) -> None:
    audit.append(
        session,
        TEAM,
        deployment.actor_id,
        "deployed",
        release_id=deployment.release_id,
        details={"environment": deployment.environment, "deployment_id": deployment.id, **details},
    )


async def _payments(session: AsyncSession) -> None:
    payments = _release("payments", "2.4.0", "U0ALICE", "1700000000.000100")
    session.add(payments)
    await session.flush()
    session.add_all(
        [
            Approval(
                team_id=TEAM,
                release_id=payments.pk,
                environment="prod",
                user_id="U0BOB",
                decision="approve",
                scope_hash="b" * 64,
                created_at=at(2, 10),
            ),
            Approval(
                team_id=TEAM,
                release_id=payments.pk,
                environment="prod",
                user_id="U0CAROL",
                decision="approve",
                scope_hash="c" * 64,
                created_at=at(2, 11),
            ),
            Approval(
                team_id=TEAM,
                release_id=payments.pk,
                environment="prod",
                user_id="U0DAVE",
                decision="approve",
                scope_hash="d" * 64,
                created_at=at(2, 9),
                invalidated_at=at(2, 9, 30),
            ),
            Approval(
                team_id=TEAM,
                release_id=payments.pk,
                environment="qa",
                user_id="U0ERIN",
                decision="approve",
                created_at=at(2, 8),
            ),
            Verification(
                team_id=TEAM,
                release_id=payments.pk,
                environment="qa",
                user_id="U0QA",
                passed=True,
                note=HOSTILE,
                created_at=at(2, 14),
            ),
        ]
    )
    qa = _deployment(payments, "qa", "U0RM", at(2, 12), commit_sha=SHA)
    prod = _deployment(
        payments,
        "prod",
        "U0RM",
        at(3, 10),
        commit_sha=SHA,
        ci_url="https://ci.example/run/7",
        override_reason="@oncall said go, -1 risk",
        rolled_back_at=at(3, 11),
        rolled_back_by="U0RM",
        rollback_reason=HOSTILE,
    )
    session.add_all([qa, prod])
    await session.flush()
    _deployed_event(session, qa, outcome="succeeded", bypassed_gates=[])
    _deployed_event(
        session,
        prod,
        outcome="succeeded",
        override="@oncall said go, -1 risk",
        freeze="Holiday freeze",
        bypassed_gates=[],
    )
    session.add(
        Review(
            team_id=TEAM,
            release_id=payments.pk,
            status="closed",
            facilitator_id="U0RM",
            channel_id="C0RELEASE",
            started_at=at(4, 9),
            closed_at=at(5, 9),
            summary="+ Fixed, mostly",
        )
    )
    session.add_all(
        [
            ActionItem(
                team_id=TEAM,
                release_id=payments.pk,
                owner_id="U0DAN",
                due_at=at(10, 0),
                text="Add an alert, soon",
                status="done",
                created_by="U0RM",
                created_at=at(5, 9),
                done_at=at(6, 9),
                done_by="U0DAN",
            ),
            ActionItem(
                team_id=TEAM,
                release_id=payments.pk,
                owner_id="U0EVE",
                due_at=at(12, 0),
                text=HOSTILE,
                created_by="U0RM",
                created_at=at(5, 9),
            ),
        ]
    )


async def _search(session: AsyncSession) -> None:
    search = _release("search", "1.0.0", "U0BOB", "1700000000.000200")
    session.add(search)
    await session.flush()
    ci = _deployment(
        search, "prod", "ci", at(4, 15), outcome="failed", ci_url="https://ci.example/run/8", bypassed_gates=True
    )
    late = _deployment(search, "prod", "ci", at(8, 15))  # after the range
    other_team = Deployment(
        team_id="T0OTHER",
        release_id=search.pk,
        service="search",
        version="1.0.0",
        environment="prod",
        actor_id="U0X",
        created_at=at(4, 16),
    )
    session.add_all([ci, late, other_team])
    await session.flush()
    _deployed_event(session, ci, outcome="failed", bypassed_gates=["no approvals yet", "status: proposed"])


async def seed(db: Database) -> None:
    async with db.transaction() as session:
        await _payments(session)
        await _search(session)
