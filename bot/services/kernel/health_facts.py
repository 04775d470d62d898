"""The gates' health facts, read in the caller's transaction: how long the release has soaked healthy in the
environment before `env` (`min_soak`), and the alerts that rolled it back and still hold it (nobody answered
"Not related")."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import policy_alerts
from bot.domain.health import HOLDING, NOT_LIVE, AlertSpan, Soak, countdown, soak_since
from bot.domain.message import Message, When
from bot.domain.policy import Environment, Policy
from bot.services.kernel.card_sources import Soaked
from storage.models import Alert, Release
from storage.repositories import alerts as alerts_repo
from storage.repositories import deployments as deployments_repo


async def soak(
    session: AsyncSession,
    policy: Policy,
    release: Release,
    env: Environment,
    *,
    now: datetime,
    alerts: list[Alert],
    deployed: Sequence[Soaked] | None = None,
) -> Soak | None:
    """The soak `env` asks of `release` in the previous environment; None when it asks none. `deployed`: the
    release's deployments, when the caller has read them."""
    required = policy_alerts.duration(env.min_soak)
    previous = policy.previous_environment(env.name)
    if required is None or previous is None:
        return None
    if deployed is None:
        deployed = await deployments_repo.for_release(session=session, team_id=release.team_id, release_id=release.pk)
    there = [d for d in deployed if d.environment == previous.name and d.outcome == deployments_repo.SUCCEEDED]
    latest = max(there, key=lambda d: (d.created_at, d.id or 0), default=None)
    spans: list[AlertSpan] = []
    if latest is not None:
        counted = [a for a in alerts if a.environment == previous.name and a.deployment_id == latest.id]
        ended = await alerts_repo.resolved_keys(session=session, team_id=release.team_id, alerts=counted)
        spans = [AlertSpan(a.name, a.starts_at, ended.get((a.fingerprint, a.starts_at))) for a in counted]
    since, why = soak_since(
        latest.created_at if latest else None, latest is not None and latest.rolled_back_at is not None, spans
    )
    return Soak(previous.name, required, since, now, why)


def holding(alerts: list[Alert]) -> tuple[str, ...]:
    """The names of the alerts that rolled the release back and still hold it."""
    return tuple(dict.fromkeys(alert.name for alert in alerts if alert.decision in HOLDING))


async def card_lines(
    session: AsyncSession,
    policy: Policy,
    release: Release,
    target: str | None,
    now: datetime,
    deployed: Sequence[Soaked],
) -> list[Message]:
    """The card's health lines: the soak before `target` (the next environment) and the alerts holding it.
    `deployed`: the release's deployments (an alert counts against a release through one of them, so a release
    never deployed has none to read)."""
    alerts = (
        list(await alerts_repo.counted_for(session=session, team_id=release.team_id, release_id=release.pk))
        if deployed
        else []
    )
    lines: list[Message] = []
    env = policy.environment(target) if target else None
    wanted = (
        await soak(session, policy, release, env, now=now, alerts=alerts, deployed=deployed)
        if env is not None
        else None
    )
    if wanted is not None and not wanted.met and wanted.ends_at is not None:
        lines.append(
            Message(
                "⏳ {previous} soak: {left} left (until {until}) before {target}",
                previous=wanted.environment,
                left=countdown(wanted.left),
                until=When(wanted.ends_at),
                target=target or "",
            )
        )
    elif wanted is not None and wanted.since is None and wanted.unhealthy != NOT_LIVE:
        lines.append(Message("⏸️ {previous} soak on hold: {why}", previous=wanted.environment, why=wanted.unhealthy))
    held = holding(alerts)
    if held:
        lines.append(
            Message(
                "🚨 Held: rolled back after {alerts} fired; promotion waits for a “Not related” answer",
                alerts=", ".join(held),
            )
        )
    return lines
