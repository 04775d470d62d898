"""The audit trail's hash chain, per workspace: each event's hash covers its canonical form (a stable JSON encoding
of its fields) and the hash of the event before it in the same workspace. Changing, removing or reordering an event
breaks every link from it on. The encoding never changes: events chained years ago must still verify."""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64  # the previous hash of a workspace's first event
FIELDS = ("team_id", "release_id", "actor_id", "action", "details", "created_at")


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _json(value: Any) -> str:
    return _ENCODER.encode(value)


def stored_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """The details as the database gives them back (a JSON round trip: tuples become lists, enums their values)."""
    loaded: dict[str, Any] = json.loads(json.dumps(dict(details)))
    return loaded


def utc_text(at: datetime) -> str:
    """A time as the chain writes it: UTC, ISO 8601, always with microseconds."""
    if at.tzinfo is None:
        raise ValueError("a naive time has no place in the audit chain")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(event: Mapping[str, Any], prev_hash: str) -> bytes:
    """The bytes an event's hash is taken of: its fields and the previous hash, sorted keys, no spaces, UTF-8."""
    fields = {name: event[name] for name in FIELDS}
    fields["created_at"] = utc_text(event["created_at"])
    fields["prev_hash"] = prev_hash
    return _json(fields).encode()


def link(event: Mapping[str, Any], prev_hash: str) -> str:
    """The hash of an event that follows `prev_hash` (sha256, hex)."""
    return hashlib.sha256(canonical(event, prev_hash)).hexdigest()


def seal(events: list[dict[str, Any]], head: str) -> str:
    """Chain `events` (in order) after `head`, setting each one's `prev_hash` and `hash`; returns the new head."""
    for event in events:
        event["details"] = stored_details(event["details"])
        event["prev_hash"] = head
        head = event["hash"] = link(event, head)
    return head
