"""A workspace removes Shipmate (`app_uninstalled`, or its bot token revoked with `tokens_revoked`): its tokens are
deleted and nothing more is done for it. Its unsent messages, scheduled work (reminders, digests, reviews, deploy
timeouts) and open deployer requests are dropped, each audited; its releases and history stay until
`shipmate team purge <team_id>` deletes them (a workspace that installs again finds them)."""

import logging
from dataclasses import dataclass, field

from bot.domain.change import Audit
from bot.domain.pipeline import RequestStatus
from bot.services.kernel.context import ServiceContext
from storage.repositories import audit, deploy_requests, jobs, outbox, workspaces

log = logging.getLogger(__name__)

ACTOR = "slack"  # who did it, in the history: Slack told us the workspace removed the app


@dataclass(frozen=True)
class Dropped:
    teams: list[str]
    messages: dict[str, int] = field(default_factory=dict)  # kind → how many
    jobs: dict[str, int] = field(default_factory=dict)
    requests: int = 0


async def uninstalled(
    ctx: ServiceContext, *, team_id: str | None, enterprise_id: str | None, org_wide: bool, reason: str
) -> Dropped:
    """Tokens first (nothing more can be sent with them), then the work, in one transaction per call."""
    await ctx.tokens.forget(enterprise_id=enterprise_id, team_id=None if org_wide else team_id, bots=True, users=True)
    return await drop_work(ctx, team_id=team_id, enterprise_id=enterprise_id, org_wide=org_wide, reason=reason)


async def tokens_revoked(
    ctx: ServiceContext,
    *,
    team_id: str | None,
    enterprise_id: str | None,
    org_wide: bool,
    bots: bool,
    users: bool,
) -> Dropped | None:
    """People's tokens only: deleted, the work goes on. The bot's: as good as uninstalled."""
    await ctx.tokens.forget(enterprise_id=enterprise_id, team_id=None if org_wide else team_id, bots=bots, users=users)
    if not bots:
        return None
    return await drop_work(
        ctx, team_id=team_id, enterprise_id=enterprise_id, org_wide=org_wide, reason="bot token revoked"
    )


async def drop_work(
    ctx: ServiceContext, *, team_id: str | None, enterprise_id: str | None, org_wide: bool, reason: str
) -> Dropped:
    now = ctx.now()
    messages: dict[str, int] = {}
    scheduled: dict[str, int] = {}
    requests = 0
    async with ctx.db.transaction() as session:
        teams = [team_id] if team_id and not org_wide else []
        if org_wide and enterprise_id:  # every workspace of the organisation that the install served
            teams = await workspaces.of_enterprise(session=session, enterprise_id=enterprise_id)
        for team in teams:
            sent_none = await outbox.drop_team(session=session, team_id=team, reason=f"workspace: {reason}")
            live = await jobs.live_kinds(session=session, team_id=team)
            await jobs.drop(session=session, team_id=team, reason=f"workspace: {reason}")
            for request in await deploy_requests.drop_open(session=session, team_id=team, at=now):
                requests += 1
                audit.append(
                    session,
                    team,
                    ACTOR,
                    Audit.DEPLOYMENT_REQUEST_CLOSED,
                    release_id=request.release_id,
                    details={
                        "request_id": request.request_id,
                        "status": RequestStatus.DROPPED.value,
                        "environment": request.environment,
                        "reason": reason,
                    },
                )
            audit.append(
                session,
                team,
                ACTOR,
                Audit.WORK_DROPPED,
                details={"reason": reason, "messages": sent_none, "jobs": live},
            )
            for kind, n in sent_none.items():
                messages[kind] = messages.get(kind, 0) + n
            for kind, n in live.items():
                scheduled[kind] = scheduled.get(kind, 0) + n
    log.info(
        "workspace %s removed Shipmate (%s): dropped %s message(s), %s job(s), %s deployer request(s)",
        ",".join(teams) or enterprise_id,
        reason,
        sum(messages.values()),
        sum(scheduled.values()),
        requests,
    )
    return Dropped(teams, messages, scheduled, requests)
