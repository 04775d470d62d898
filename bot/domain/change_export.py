"""A production change as a row of evidence for auditors: the columns of `shipmate export changes` and
`/release export`, each cell built from plain facts, and the neutralising of cells a spreadsheet would run.

A production change is a deployment in the final environment; its rollback (when, why, by whom) is on its row.
Cells holding several entries join them with "; ". Times are UTC, ISO 8601 (`2026-01-05T10:00:00Z`). The change
class and emergency columns stay empty until change classes exist."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

COLUMNS = (
    "change_id", "deployed_at", "environment", "release", "commit", "outcome", "change_class", "risk", "proposer",
    "approvals", "deployer", "ci_run", "regression_verifier", "regression_result", "gates_passed", "overrides",
    "emergency_approval_due", "emergency_approval_done", "rolled_back_at", "rolled_back_by", "rollback_reason",
    "review", "action_items", "release_message", "audit_event", "audit_hash",
)  # fmt: skip
GATE_NAMES = ("status", "pipeline", "approvals", "regression", "freeze")  # bot/domain/gates.py's GATES, in order
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Facts = Mapping[str, Any]


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would read as a formula (or whose leading tab or CR would hide one) gets a leading
    apostrophe: shown as text, never run. Everything else is unchanged."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def utc(at: datetime | None) -> str:
    if at is None:
        return ""
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def day_range(start: date, end: date) -> tuple[datetime, datetime]:
    """`--from D --to D`, both days included, as a half-open UTC interval."""
    return datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)


def permalink(channel_id: str | None, message_ts: str | None) -> str:
    if not channel_id or not message_ts:
        return ""
    return f"https://slack.com/archives/{channel_id}/p{message_ts.replace('.', '')}"


def _approvals(approvals: Iterable[Facts], deployed_at: datetime) -> str:
    """The approvals that stood when it was deployed: each approver, when, and the scope hash approved."""
    standing = [
        a
        for a in approvals
        if a["decision"] == "approve"
        and a["created_at"] <= deployed_at
        and (a["invalidated_at"] is None or a["invalidated_at"] > deployed_at)
    ]
    return "; ".join(
        f"{a['user_id']} at {utc(a['created_at'])}" + (f" scope {a['scope_hash']}" if a["scope_hash"] else "")
        for a in sorted(standing, key=lambda a: (a["created_at"], a["user_id"]))
    )


def _regression(verifications: Sequence[Facts], deployed_at: datetime) -> tuple[str, str]:
    """The newest regression sign-off before the deployment: who (where), and its result and time."""
    before = [v for v in verifications if v["created_at"] <= deployed_at]
    if not before:
        return "", ""
    newest = max(before, key=lambda v: (v["created_at"], v["id"]))
    result = "passed" if newest["passed"] else "failed"
    note = f": {newest['note']}" if newest["note"] else ""
    return f"{newest['user_id']} in {newest['environment']}", f"{result} at {utc(newest['created_at'])}{note}"


def _gates(deployed: Facts | None) -> tuple[str, str]:
    """Gates passed, and the overrides (a freeze overridden, gates CI bypassed), from the deployment's audit event."""
    if deployed is None:
        return "", ""
    details, overrides = deployed["details"], []
    bypassed = [str(b) for b in details.get("bypassed_gates") or []]
    if details.get("override"):
        freeze = f" ({details['freeze']})" if details.get("freeze") else ""
        overrides.append(f"freeze{freeze} overridden by {deployed['actor_id']}: {details['override']}")
    if bypassed:
        overrides.append(f"gates bypassed by {deployed['actor_id']}: {' | '.join(bypassed)}")
        return "", "; ".join(overrides)
    passed = [name for name in GATE_NAMES if not (name == "freeze" and details.get("override"))]
    return ", ".join(passed), "; ".join(overrides)


def _review(review: Facts | None) -> str:
    if review is None:
        return ""
    if review["status"] == "closed":
        return f"closed at {utc(review['closed_at'])}" + (f": {review['summary']}" if review["summary"] else "")
    return f"open since {utc(review['started_at'])}"


def _items(items: Iterable[Facts]) -> str:
    return "; ".join(
        f"[{i['status']}] {i['owner_id']}: {i['text']} (due {utc(i['due_at'])}"
        + (f", done {utc(i['done_at'])} by {i['done_by']})" if i["done_at"] else ")")
        for i in sorted(items, key=lambda i: i["id"])
    )


def row(change: Facts, related: Mapping[str, Any]) -> dict[str, str]:
    """One production change (`change`: the deployment joined with its release) with what `related` knows of it
    (`approvals`, `verifications`, `deployed` audit event, `review`, `items`), as the export's cells (raw text)."""
    deployed_at = change["created_at"]
    verifier, result = _regression(related["verifications"], deployed_at)
    gates, overrides = _gates(related["deployed"])
    deployed = related["deployed"]
    cells = {
        "change_id": str(change["id"]),
        "deployed_at": utc(deployed_at),
        "environment": change["environment"],
        "release": f"{change['service']}@{change['version']}",
        "commit": change["commit_sha"] or change["release_commit"] or "",
        "outcome": change["outcome"],
        "change_class": str(change.get("change_class") or ""),
        "risk": change["risk"] or "",
        "proposer": change["proposer_id"],
        "approvals": _approvals(related["approvals"], deployed_at),
        "deployer": change["actor_id"],
        "ci_run": change["ci_url"] or "",
        "regression_verifier": verifier,
        "regression_result": result,
        "gates_passed": gates,
        "overrides": overrides,
        "emergency_approval_due": utc(change.get("emergency_due_at")),
        "emergency_approval_done": utc(change.get("emergency_done_at")),
        "rolled_back_at": utc(change["rolled_back_at"]),
        "rolled_back_by": change["rolled_back_by"] or "",
        "rollback_reason": change["rollback_reason"] or "",
        "review": _review(related["review"]),
        "action_items": _items(related["items"]),
        "release_message": permalink(change["channel_id"], change["message_ts"]),
        "audit_event": str(deployed["id"]) if deployed else "",
        "audit_hash": (deployed["hash"] or "") if deployed else "",
    }
    assert tuple(cells) == COLUMNS
    return cells
