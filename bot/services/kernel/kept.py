"""What a workspace's readers share for a few seconds: read once, shown to everyone who asks in that time.

An entry stays good while this process has ended no write since it was read (`Database.changes_ended`: the
outbox's and the scheduler's bookkeeping does not count), the policy and the members it was decided with are the
ones in force, and it is younger than the keeper's time limit (which is what covers another process's writes).
Entries are values nobody changes, except that a keeper may hold something read a page at a time (App Home's open
releases): a later page is added only to the entry it continues."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from bot.domain.policy import Members, Policy
from storage.db import Database

T = TypeVar("T")


@dataclass(frozen=True)
class Stamp:
    """When and under what something was read: this process's write count, the clock, the policy and members."""

    writes: int
    at: datetime
    policy: Policy
    members: Members


class Kept(Generic[T]):
    """One value per workspace and database, good for `limit` (see the module's docstring)."""

    def __init__(self, limit: timedelta) -> None:
        self.limit = limit
        self._kept: WeakKeyDictionary[Database, dict[str, tuple[Stamp, T]]] = WeakKeyDictionary()

    def get(self, db: Database, team_id: str, now: Stamp) -> T | None:
        found = self._kept.get(db, {}).get(team_id)
        if found is None:
            return None
        stamp, value = found
        fresh = timedelta(0) <= now.at - stamp.at < self.limit
        same = stamp.writes == now.writes and stamp.policy is now.policy and stamp.members == now.members
        return value if fresh and same else None

    def put(self, db: Database, team_id: str, stamp: Stamp, value: T) -> T:
        self._kept.setdefault(db, {})[team_id] = (stamp, value)
        return value
