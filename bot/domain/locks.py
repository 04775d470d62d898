"""Deploy locks, pure: what a lock covers, how long one may last, how a refusal reads, and the hand-over clock.

A lock is person-owned: one service in one environment, or every service there (`*`, the incident lock). While it
holds, only its holder deploys there (and, through a `*` lock, the policy's `[locks] bypass`). People who lock a
locked slot queue for it; when the lock ends the next in line is offered it and it is held for them `OFFER_FOR`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.errors import InvalidInput
from bot.domain.message import Code, Mention, Message, When
from bot.domain.policy_locks import Locks
from bot.domain.timeparse import parse_duration

ALL_SERVICES = "*"
WARN_BEFORE = timedelta(minutes=10)  # the holder hears this long before the lock runs out ("extend")
OFFER_FOR = timedelta(minutes=5)  # the next in the queue has this long to take the lock before it passes on


class LockJob(StrEnum):
    """The durable jobs of a lock (one of each per lock: `lock:<id>:expiry`, `lock:<id>:warning`)."""

    EXPIRY = "lock_expiry"  # ends the lock at `until` (or passes an offer on), once across processes
    WARNING = "lock_warning"  # DMs the holder `WARN_BEFORE` the end, with an "extend" button


class LockState(StrEnum):
    HELD = "held"
    OFFERED = "offered"  # held for the next in the queue until they take or pass it
    ENDED = "ended"


class Ending(StrEnum):
    """How a lock ended (the audit and the DM say it)."""

    LIFTED = "lifted"
    EXPIRED = "expired"
    PASSED = "passed"  # the person it was offered to passed (or did not answer in time)


@dataclass(frozen=True)
class ActiveLock:
    """A lock in force at the deployment moment, as the gates see it."""

    lock_id: int
    service: str  # a service, or `*`
    environment: str
    holder: str
    reason: str
    until: datetime
    offered: bool = False

    @property
    def all_services(self) -> bool:
        return self.service == ALL_SERVICES


def label(service: str, environment: str) -> str:
    """ "payments prod", or "every service in prod" for a `*` lock."""
    return f"every service in {environment}" if service == ALL_SERVICES else f"{service} {environment}"


def refused_by(public: str, service: str) -> str:
    """The slot a lock refusal (its `public` words, from `label`) is about: `*` or the release's service."""
    return ALL_SERVICES if public.startswith("every service in ") else service


def covers(lock: ActiveLock, service: str, environment: str) -> bool:
    return lock.environment == environment and lock.service in (service, ALL_SERVICES)


def length(asked: str | None, policy: Locks) -> timedelta:
    """How long a lock is taken for: what the person asked (`for 3h`), else `[locks] default`; never past `max`."""
    if asked is None:
        return policy.default_length
    wanted = parse_duration(asked)
    if wanted > policy.max_length:
        raise InvalidInput(
            "A lock may last at most {max} (`[locks] max` in the policy); ask for less, like `for {default}`.",
            max=policy.max,
            default=policy.default,
            field="duration",
        )
    return wanted


def refusal_text(lock: ActiveLock, service: str) -> Message:
    """ "payments prod is locked by @dave until 15:00: migrating the ledger", and what to do about it."""
    what = label(lock.service if lock.all_services else service, lock.environment)
    if lock.offered:
        return Message(
            "{what} is held for {holder} (next in the queue) until {until}: {reason}",
            what=what,
            holder=Mention(lock.holder),
            until=When(lock.until),
            reason=lock.reason,
        )
    queue = Code(f"/release lock {lock.service} {lock.environment} <reason>")
    return Message(
        "{what} is locked by {holder} until {until}: {reason}. Queue for it with {queue}.",
        what=what,
        holder=Mention(lock.holder),
        until=When(lock.until),
        reason=lock.reason,
        queue=queue,
    )


def blocking(
    locks: Sequence[ActiveLock], *, acting_for: frozenset[str], bypass: bool
) -> tuple[ActiveLock | None, list[ActiveLock]]:
    """The first lock that refuses a deployment done for `acting_for` (None: none does), and the `*` locks it goes
    through only by `[locks] bypass` (audited as a bypass)."""
    bypassed: list[ActiveLock] = []
    for lock in locks:
        if lock.holder in acting_for:
            continue
        if lock.all_services and bypass and not lock.offered:
            bypassed.append(lock)
            continue
        return lock, bypassed
    return None, bypassed


def extended_until(now: datetime, policy: Locks) -> datetime:
    """An extension (the "extend" button) runs `[locks] default` from now (`default` is never past `max`)."""
    return now + policy.default_length
