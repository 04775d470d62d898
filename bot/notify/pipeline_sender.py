"""Outbox rows for the pipeline: deployment requests to a service's deployer (a signed webhook, a GitHub
`workflow_dispatch`) and answers to GitHub protection rules. A webhook's URL is read from the policy at send
time (the row keeps only the service and a redacted URL to show); a request closed meanwhile is not sent."""

from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.pipeline import JobKind, OutboxKind
from bot.domain.policy import Deployer
from bot.notify.pipeline_client import KINDS, PipelineClient, PipelineError, webhook_service
from bot.notify.sending import Stale
from bot.notify.slack_errors import Failure, classify
from storage.db import Database, Writer
from storage.models import OutboxMessage
from storage.repositories import deploy_requests, jobs
from storage.types import utcnow

REQUESTS = (OutboxKind.DEPLOY_WEBHOOK, OutboxKind.WORKFLOW_DISPATCH)

# (team id, service) → the service's deployer in the policy in force now, or None.
Deployers = Callable[[str, str], Deployer | None]


class PipelineSender:
    name = "pipeline"
    kinds = KINDS
    shared_by_team = False  # each service has its own deployer: one hanging says nothing about the others

    def __init__(self, db: Database, client: PipelineClient, deployers: Deployers) -> None:
        self.db = db
        self.client = client
        self.deployers = deployers

    async def prepare(self, session: Writer, batch: Sequence[OutboxMessage]) -> None:
        pass  # each send needs nothing more than its row

    async def send(self, message: OutboxMessage) -> str | None:
        payload: dict[str, Any] = dict(message.payload)
        if message.kind in REQUESTS:
            async with self.db.read() as session:
                row = await deploy_requests.by_request_id(session=session, request_id=payload["request_id"])
            if row is None or row.status != deploy_requests.OPEN:
                raise Stale(f"request {payload['request_id']} is {row.status if row else 'gone'}; not sent")
        deployer = None
        if message.kind == OutboxKind.DEPLOY_WEBHOOK:
            deployer = self.deployers(message.team_id, webhook_service(payload))
        await self.client.send(message.kind, payload, deployer=deployer)
        return None

    def failure(self, message: OutboxMessage, exc: Exception) -> Failure:
        if not isinstance(exc, PipelineError):
            return classify(exc)
        return Failure(
            f"{message.kind}: {exc}",
            retry_after=exc.retry_after,
            permanent=exc.permanent,
            label=message.kind,
            fatal=exc.fatal,
        )

    def log_fields(self, exc: Exception) -> dict[str, str | None]:
        return {}

    async def given_up(self, session: AsyncSession, message: OutboxMessage, failure: Failure) -> None:
        """The deployer never took the request: say so on it and let its timeout job tell people now."""
        if message.kind not in REQUESTS:
            return
        request_id = str(message.payload.get("request_id", ""))
        error = failure.error.removeprefix(f"{message.kind}: ")
        row = await deploy_requests.undeliverable(session=session, request_id=request_id, error=error)
        if row is not None:
            await jobs.pull_forward(
                session=session,
                team_id=row.team_id,
                kinds=[JobKind.DEPLOY_TIMEOUT],
                at=utcnow(),
                dedupe_key=f"deploy_timeout:{request_id}",
            )
