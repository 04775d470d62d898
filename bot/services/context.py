"""What every use case gets: the database, the policy, the clock, and a way to wake the dispatcher."""

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from bot.domain.policy import Members, Policy
from bot.settings import Settings
from storage.db import Database, writes_wait_at_most


@dataclass(frozen=True)
class Actor:
    """Who is asking, in which workspace (every query is scoped by `team_id`)."""

    team_id: str
    user_id: str
    channel_id: str | None = None


class Directory(Protocol):
    """Resolves Slack user groups (S…) to their members."""

    async def members(self, team_id: str, group_ids: Iterable[str]) -> dict[str, frozenset[str]]: ...


class NoDirectory:
    """For tests and tools without Slack: groups have no members."""

    async def members(self, team_id: str, group_ids: Iterable[str]) -> dict[str, frozenset[str]]:
        return {group_id: frozenset() for group_id in group_ids}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceContext:
    db: Database
    policy: Policy
    settings: Settings
    directory: Directory = field(default_factory=NoDirectory)
    kick: Callable[[], None] = lambda: None
    now: Callable[[], datetime] = _utcnow

    def writes_wait_at_most(self, seconds: float | None) -> AbstractContextManager[None]:
        """For a person's request: a write that cannot start within `seconds` is refused as `Busy` (None: waits)."""
        return writes_wait_at_most(seconds)

    async def members(self, team_id: str) -> Members:
        """The members of every user group the policy names (a Slack call, cached: never inside a transaction)."""
        return await self.directory.members(team_id, self.policy.group_ids)
