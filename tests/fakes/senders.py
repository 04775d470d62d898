"""A base for the senders dispatcher tests make up: it sends posts as Slack's sender does and classifies failures
as Slack's; a test writes only its `send`."""

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.notify.slack_errors import Failure, classify
from storage.db import Writer
from storage.models import OutboxMessage


class PostSender:
    name = "slack"
    kinds = frozenset({"post"})
    shared_by_team = True  # like Slack's: a workspace's messages share its token's limits

    async def prepare(self, session: Writer, batch: Sequence[OutboxMessage]) -> None:
        pass  # each send needs nothing more than its row

    async def send(self, message: OutboxMessage) -> str | None:
        raise NotImplementedError

    def failure(self, message: OutboxMessage, exc: Exception) -> Failure:
        return classify(exc)

    def log_fields(self, exc: Exception) -> dict[str, str | None]:
        return {}

    async def given_up(self, session: AsyncSession, message: OutboxMessage, failure: Failure) -> None:
        pass
