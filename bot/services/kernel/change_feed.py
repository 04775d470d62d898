"""Who waits on what, in this process: a transaction that changed a release (or lifted a freeze) tells the
subscribers once it has committed, so a waiting gate check looks again at once instead of at its next poll."""

import logging
from collections.abc import Callable, Hashable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.write_tx import after_commit

log = logging.getLogger(__name__)

Subscriber = Callable[[set[Hashable]], None]
_KEYS = "shipmate_changed"


def release_key(release_id: int) -> tuple[str, int]:
    return ("release", release_id)


def environment_key(team_id: str, environment: str) -> tuple[str, str, str]:
    return ("environment", team_id, environment)


class ChangeFeed:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def after_commit(self, session: AsyncSession, key: Hashable) -> None:
        """Tell the subscribers about `key` when `session`'s transaction commits (never if it rolls back)."""
        owed: tuple[ChangeFeed, set[Hashable]] | None = session.info.get(_KEYS)
        if owed is None:
            owed = session.info[_KEYS] = (self, set())
        owed[1].add(key)

    def _committed(self, keys: set[Hashable]) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber(keys)
            except Exception:  # a waiter's bug must not fail the commit that already happened
                log.exception("change subscriber failed")


# One hook for every write transaction, registered once (one per transaction cost more than the rest of telling):
# a transaction that changed nothing anyone waits on has nothing to do here.
@after_commit
def _after_commit(sync_session: Any) -> None:
    owed: tuple[ChangeFeed, set[Hashable]] | None = sync_session.info.pop(_KEYS, None)
    if owed is not None:
        owed[0]._committed(owed[1])
