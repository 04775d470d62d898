"""`shipmate audit verify` and `shipmate export changes|verify`: the command line of `bot/services/evidence/`."""

import argparse
import asyncio
import sys

from bot.services.evidence import verify
from bot.settings import Settings
from storage.db import Database


def _fail(message: str) -> int:
    print(f"shipmate: {message}", file=sys.stderr)
    return 2


async def _audit_verify(database_url: str, team_id: str | None) -> int:
    db = Database(database_url, pool_size=1)
    try:
        verdict = await verify(db, team_id)
    finally:
        await db.dispose()
    if verdict.broken is not None:
        broken = verdict.broken
        print(f"broken: event {broken.event_id} of {broken.team_id} at {broken.created_at.isoformat()}: {broken.why}")
        return 1
    if team_id is not None:
        count, head = verdict.chains.get(team_id, (0, "0" * 64))
        print(f"intact: {count} events, head {head}")
        return 0
    for team, (count, head) in verdict.chains.items():
        print(f"{team}: intact: {count} events, head {head}")
    print(f"intact: {verdict.events} events in {len(verdict.chains)} workspaces")
    return 0


def audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    """Walk the chain (one workspace with --team, else every one): exit 0 intact, 1 broken, 2 unreadable."""
    try:
        return asyncio.run(_audit_verify(settings.database_url, args.team))
    except Exception as exc:  # an unreachable or unmigrated database: one clear line, not a traceback
        return _fail(f"cannot read the audit trail ({type(exc).__name__}: {exc}); is it `shipmate db upgrade`d?")
