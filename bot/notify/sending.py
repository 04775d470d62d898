"""What the dispatcher asks of a sender (Slack's, the pipeline's), and the outcomes of a send that are not
failures."""

from collections.abc import Sequence
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.notify.slack_errors import Failure
from storage.db import Writer
from storage.models import OutboxMessage


class Deferred(Exception):
    """Not an error: the message must wait (its release's card is not posted yet)."""


class Stale(Exception):
    """Not an error: what the message asked for was closed before it could be sent; it never will be."""


class Sender(Protocol):
    """Sends outbox rows of its `kinds`; one dispatcher loop per sender, so one slow side never delays another."""

    name: str
    kinds: frozenset[str]
    # Whether a workspace's rows share one endpoint: then a transient failure of one makes the rest of that
    # workspace's batch wait for the next sweep, instead of holding up the other workspaces' rows.
    shared_by_team: bool

    async def prepare(self, session: Writer, batch: Sequence[OutboxMessage]) -> None:
        """Read at once what the sends of a batch will need (one query, not one per message), in the transaction
        that claims it."""
        ...

    async def send(self, message: OutboxMessage) -> str | None:
        """Send one row; the Slack message ts, if any. Raises Deferred, Stale, or whatever failed."""
        ...

    def failure(self, message: OutboxMessage, exc: Exception) -> Failure:
        """What a failed send means (retry when, given up when); never raises."""
        ...

    def log_fields(self, exc: Exception) -> dict[str, str | None]:
        """Extra fields for the failure's log line (bot/logs.py FIELDS)."""
        ...

    async def given_up(self, session: AsyncSession, message: OutboxMessage, failure: Failure) -> None:
        """The row is dead: tell whoever waits for it, in the transaction that marks it."""
        ...
