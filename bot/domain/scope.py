"""A release's scope: what its approvers approve. Changing any part of it starts the approvals over, whoever
changed it may not approve it, and each decision records the hash of the scope it was given on. The code itself
(the commit) is part of the scope once it is known."""

import hashlib
import json
from datetime import UTC, datetime
from typing import Protocol

# What approvers approve: what ships, how it is undone, how risky it is and when it happens.
LABELS = {
    "summary": "summary",
    "changes": "list of changes",
    "rollback_plan": "rollback plan",
    "risk": "risk",
    "window": "planned window",
    "commit_sha": "commit",
}
SHORT = 8  # hex digits of the hash shown to people


class Scoped(Protocol):
    """A release, as far as its scope goes."""

    summary: str
    changes: str
    rollback_plan: str
    risk: str
    window_start: datetime | None
    window_end: datetime | None
    commit_sha: str | None


def _instant(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def digest(release: Scoped) -> str:
    """SHA-256 (hex) of the scope, written canonically: equal scopes hash equal on every database. A release
    without a recorded commit hashes as it did before commits joined the scope."""
    canonical: dict[str, object] = {
        "summary": release.summary,
        "changes": release.changes,
        "rollback_plan": release.rollback_plan,
        "risk": release.risk,
        "window": [_instant(release.window_start), _instant(release.window_end)],
    }
    if release.commit_sha:
        canonical["commit"] = release.commit_sha
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def short(value: str) -> str:
    return value[:SHORT]
