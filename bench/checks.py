"""After a flood: is every accepted write in the database, is nothing refused there, and did Slack get every
outbox message exactly once? Reads the database directly (sqlite3 / asyncpg), like an auditor would."""

import asyncio
import sqlite3
import time
from collections import Counter
from typing import Any

import asyncpg

from bench.open_loop import BUSY


async def query(backend: str, target: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of `sql` (written with `?` placeholders free: no parameters) from the bench's database."""
    if backend == "sqlite":

        def run() -> list[tuple[Any, ...]]:
            connection = sqlite3.connect(target, timeout=30)
            try:
                return [tuple(row) for row in connection.execute(sql).fetchall()]
            finally:
                connection.close()

        return await asyncio.to_thread(run)
    connection = await asyncpg.connect(target)
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()


async def outbox_mark(backend: str, target: str) -> int:
    rows = await query(backend, target, "SELECT COALESCE(MAX(id), 0) FROM outbox")
    return int(rows[0][0])


async def drained(backend: str, target: str, *, after_id: int = 0, wait: float = 120.0) -> dict[str, int]:
    """Wait until no outbox row after `after_id` is pending; then its rows by status."""
    deadline = time.monotonic() + wait
    while True:
        sql = f"SELECT status, COUNT(*) FROM outbox WHERE id > {after_id} GROUP BY status"
        rows = await query(backend, target, sql)
        counts = {str(status): int(count) for status, count in rows}
        if not counts.get("pending") or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.5)


async def verify_writes(
    backend: str, target: str, cards_posted: Counter[str], writes: list[dict[str, Any]], prefix: str
) -> dict[str, Any]:
    """Accepted proposals exist once, ones told to retry do not, each new release's card reached Slack once;
    accepted approvals are recorded once and ones told to retry not at all."""
    proposed = {w["key"] for w in writes if w["kind"] == "propose" and "Proposed" in w["answer"]}
    refused = {w["key"] for w in writes if w["kind"] == "propose" and BUSY in w["answer"]}
    rows = await query(
        backend, target, f"SELECT service || '@' || version FROM releases WHERE service LIKE '{prefix}%'"
    )
    stored = [str(row[0]) for row in rows]
    approved = {w["key"] for w in writes if w["kind"] == "approve" and "You approved" in w["answer"]}
    not_approved = {w["key"] for w in writes if w["kind"] == "approve" and BUSY in w["answer"]}
    decided = await query(
        backend,
        target,
        "SELECT r.service || '@' || r.version || ' ' || a.user_id"
        " FROM approvals a JOIN releases r ON r.id = a.release_id"
        " WHERE a.user_id IN ('U0BOB', 'U0CAROL') AND r.service LIKE 'appr%' AND a.invalidated_at IS NULL",
    )
    recorded = [str(row[0]) for row in decided]
    cards = {ref: cards_posted.get(ref, 0) for ref in proposed}
    return {
        "writes_neither_answered_nor_refused": sum(
            1 for w in writes if w["key"] not in proposed | refused | approved | not_approved
        ),
        "proposals_accepted": len(proposed),
        "proposals_refused": len(refused),
        "proposals_stored": len(stored),
        "proposals_lost": len(proposed - set(stored)),
        "proposals_stored_though_refused": len(refused & set(stored)),
        "proposals_doubled": len(stored) - len(set(stored)),
        "cards_missing": sum(1 for count in cards.values() if count == 0),
        "cards_doubled": sum(1 for count in cards.values() if count > 1),
        "approvals_accepted": len(approved),
        "approvals_refused": len(not_approved),
        "approvals_lost": len(approved - set(recorded)),
        "approvals_recorded_though_refused": len(not_approved & set(recorded)),
        "approvals_doubled": len(recorded) - len(set(recorded)),
    }
