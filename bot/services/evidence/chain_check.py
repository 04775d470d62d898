"""`shipmate audit verify`: walk each workspace's hash chain in id order, a keyset page at a time (constant memory
however long the trail), recomputing every event's hash from its fields and checking that it links to the event
before it. The first event that does not match is named with why: its content was changed (its hash no longer
matches its fields), or its link is broken (an event before it was removed, or events were reordered)."""

from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain import audit_chain
from storage.db import Database
from storage.repositories import audit_chain as chain_rows


@dataclass(frozen=True)
class Break:
    team_id: str
    event_id: int
    created_at: datetime
    why: str


@dataclass
class Verdict:
    chains: dict[str, tuple[int, str]] = field(default_factory=dict)  # workspace → (events, newest hash)
    broken: Break | None = None

    @property
    def events(self) -> int:
        return sum(count for count, _ in self.chains.values())


def check_event(event: dict[str, Any], prev_hash: str) -> str | None:
    """Why `event` (read back from the database) does not follow `prev_hash` in its chain, or None."""
    if not event["hash"] or not event["prev_hash"]:
        return "it has no hash (written outside the chain)"
    if audit_chain.link(event, event["prev_hash"]) != event["hash"]:
        return "its content does not match its hash (a field was changed after it was written)"
    if event["prev_hash"] != prev_hash:
        return (
            f"its link is broken: it follows {event['prev_hash'][:12]}…, but the event before it in the trail ends "
            f"at {prev_hash[:12]}… (an event was removed or events were reordered)"
        )
    return None


async def walk(db: Database, team_id: str) -> AsyncGenerator[tuple[dict[str, Any], str | None]]:
    """Every event of a workspace's chain in order, with why it is broken (None: it holds)."""
    prev = audit_chain.GENESIS
    async with db.read() as session:
        async for page in chain_rows.pages(session=session, team_id=team_id):
            for event in page:
                yield event, check_event(event, prev)
                prev = event["hash"] or prev


async def verify(db: Database, team_id: str | None = None) -> Verdict:
    """Check one workspace's chain, or every workspace's; stops at the first broken event."""
    verdict = Verdict()
    if team_id is None:
        async with db.read() as session:
            team_ids = await chain_rows.teams(session=session)
    else:
        team_ids = [team_id]
    for team in team_ids:
        count, head = 0, audit_chain.GENESIS
        async with aclosing(walk(db, team)) as events:  # closed (its read ended) even when it stops early
            async for event, why in events:
                if why is not None:
                    verdict.broken = Break(team, int(event["id"]), event["created_at"], why)
                    return verdict
                count, head = count + 1, event["hash"]
        verdict.chains[team] = (count, head)
    return verdict
