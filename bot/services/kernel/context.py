"""What every use case gets: the database, the policy, the clock, and a way to wake the dispatcher."""

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

from bot.domain.delivery_metrics import Measures
from bot.domain.errors import CodeHostUnavailable
from bot.domain.policy import Members, Policy
from bot.domain.release_notes import Comparison, PullInfo
from bot.services.kernel.change_feed import ChangeFeed
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


class Files(Protocol):
    """Uploads an image Slack can show in a message (None when the upload failed)."""

    async def upload_png(self, *, team_id: str, png: bytes, filename: str, title: str, alt_text: str) -> str | None: ...


class NoFiles:
    """For tests and tools without Slack: nothing is uploaded, answers go out without images."""

    async def upload_png(self, *, team_id: str, png: bytes, filename: str, title: str, alt_text: str) -> str | None:
        return None


class CodeHost(Protocol):
    """Where the code lives (GitHub): what a tag points at, what lies between two commits, and their pull
    requests."""

    async def tag_commit(self, repository: str, tag: str) -> str | None: ...

    async def compare(self, repository: str, base: str, head: str) -> Comparison | None: ...

    async def pull(self, repository: str, number: int) -> PullInfo | None: ...

    async def commit_pulls(self, repository: str, sha: str) -> list[PullInfo]: ...


class NoCodeHost:
    """For tests and tools without GitHub: it is never reachable, so tags are never resolved."""

    async def tag_commit(self, repository: str, tag: str) -> str | None:
        raise CodeHostUnavailable("no code host in this process")

    async def compare(self, repository: str, base: str, head: str) -> Comparison | None:
        raise CodeHostUnavailable("no code host in this process")

    async def pull(self, repository: str, number: int) -> PullInfo | None:
        raise CodeHostUnavailable("no code host in this process")

    async def commit_pulls(self, repository: str, sha: str) -> list[PullInfo]:
        raise CodeHostUnavailable("no code host in this process")


class PolicyLookup(Protocol):
    """The policy of each workspace (bot/policy_dir.py): its own file, its organisation's, or the default."""

    def for_team(self, team_id: str | None, enterprise_id: str | None = None) -> Policy: ...


class Tokens(Protocol):
    """The installed workspaces' Slack tokens (many workspaces): deleted when a workspace removes Shipmate."""

    async def forget(self, *, enterprise_id: str | None, team_id: str | None, bots: bool, users: bool) -> None: ...


class NoTokens:
    """One bot token (or no Slack): there is no store of tokens to delete from; Slack revoked the token itself."""

    async def forget(self, *, enterprise_id: str | None, team_id: str | None, bots: bool, users: bool) -> None:
        return None


@dataclass
class ServiceContext:
    db: Database
    policy: Policy
    settings: Settings
    directory: Directory = field(default_factory=NoDirectory)
    files: Files = field(default_factory=NoFiles)
    code: CodeHost = field(default_factory=NoCodeHost)
    tokens: Tokens = field(default_factory=NoTokens)
    policies: PolicyLookup | None = None  # many policies (SHIPMATE_POLICY_DIR); `policy` is then the default
    now: Callable[[], datetime] = _utcnow
    changes: ChangeFeed = field(default_factory=ChangeFeed)
    # App Home's delivery measures per (workspace, days), with when they were computed (bot.services.metrics.delivery).
    summaries: dict[tuple[str, int], tuple[datetime, Measures]] = field(default_factory=dict)

    def for_team(self, team_id: str | None, enterprise_id: str | None = None) -> "ServiceContext":
        """This context with the workspace's policy: what every entry point (a Slack request, a webhook, a job, a
        delivery) hands its use case. The rest (database, caches, feeds) is shared."""
        if self.policies is None:
            return self
        policy = self.policies.for_team(team_id, enterprise_id)
        return self if policy is self.policy else replace(self, policy=policy)

    def writes_wait_at_most(self, seconds: float | None) -> AbstractContextManager[None]:
        """For a person's request: a write that cannot start within `seconds` is refused as `Busy` (None: waits)."""
        return writes_wait_at_most(seconds)

    async def members(self, team_id: str) -> Members:
        """The members of every user group the policy names (a Slack call, cached: never inside a transaction)."""
        return await self.directory.members(team_id, self.policy.group_ids)
