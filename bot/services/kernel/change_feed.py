"""Who waits on what, in this process: a transaction that changed a release (or lifted a freeze) tells the
subscribers once it has committed, so a waiting gate check looks again at once instead of at its next poll."""

import logging
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession

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
        keys: set[Hashable] | None = session.info.get(_KEYS)
        if keys is None:
            keys = session.info[_KEYS] = set()
            event.listen(session.sync_session, "after_commit", self._committed, once=True)
        keys.add(key)

    def _committed(self, sync_session: Any) -> None:
        keys: set[Hashable] = sync_session.info.pop(_KEYS, set())
        for subscriber in self._subscribers:
            try:
                subscriber(keys)
            except Exception:  # a waiter's bug must not fail the commit that already happened
                log.exception("change subscriber failed")
