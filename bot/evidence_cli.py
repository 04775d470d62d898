"""`shipmate audit verify` and `shipmate export changes|verify`: the command line of `bot/services/evidence/`."""

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path

from bot.domain.policy import PolicyError
from bot.policy_source import resolve
from bot.services.evidence import Scope, check_export, file_digest, sidecar, verify, write_csv, write_json
from bot.settings import Settings
from storage.db import Database
from storage.repositories import audit_chain as chain_rows


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


async def _only_team(db: Database) -> str:
    async with db.read() as session:
        teams = await chain_rows.teams(session=session)
    if len(teams) != 1:
        found = ", ".join(teams) if teams else "none"
        raise ValueError(f"pass --team: the database has {len(teams)} workspaces with an audit trail ({found})")
    return teams[0]


async def _export_changes(settings: Settings, args: argparse.Namespace, environment: str) -> int:
    db = Database(settings.database_url, pool_size=1)
    try:
        team_id = args.team or await _only_team(db)
        scope = Scope(team_id, environment, args.start, args.end)
        write = write_json if args.format == "json" else write_csv
        if args.out is None:
            done = await write(db, scope, sys.stdout)
        else:
            with Path(args.out).open("w", newline="", encoding="utf-8") as out:  # noqa: ASYNC230  (a one-shot CLI)
                done = await write(db, scope, out)
            if args.format == "csv":
                record = {**asdict(done), "sha256": file_digest(Path(args.out))}
                sidecar(Path(args.out)).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    finally:
        await db.dispose()
    where = f" to {args.out}" if args.out else ""
    print(
        f"shipmate: {done.rows} production changes in {environment}{where}; audit chain head {done.chain_head}",
        file=sys.stderr,
    )
    return 0


def export_changes(settings: Settings, args: argparse.Namespace) -> int:
    """Every production change (a deployment in the policy's final environment) from --from to --to."""
    if args.end < args.start:
        return _fail(f"--to {args.end} is before --from {args.start}")
    try:
        environment = resolve(settings).policy.environment_names[-1]
    except PolicyError as exc:
        return _fail(f"policy: {exc}")
    try:
        return asyncio.run(_export_changes(settings, args, environment))
    except ValueError as exc:
        return _fail(str(exc))
    except Exception as exc:
        return _fail(f"cannot export ({type(exc).__name__}: {exc})")


async def _export_verify(settings: Settings, path: Path, given: dict[str, str] | None) -> int:
    db = Database(settings.database_url, pool_size=1)
    try:
        check = await check_export(db, path, given)
    finally:
        await db.dispose()
    for problem in check.problems:
        print(f"mismatch: {problem}")
    if check.problems:
        return 1
    print(f"verified: {check.rows} rows match the database; the audit chain is intact and holds the export's head")
    return 0


def _given(settings: Settings, args: argparse.Namespace) -> dict[str, str] | None:
    """The stamp of a CSV without its sidecar (sent in Slack), from --team, --from, --to and --head."""
    flags = (args.team, args.start, args.end, args.head)
    if not any(flags):
        return None
    if not all(flags):
        raise ValueError("give all of --team, --from, --to and --head, or none (then FILE.chain.json is read)")
    environment = resolve(settings).policy.environment_names[-1]
    return {
        "team_id": args.team, "environment": environment, "start": args.start.isoformat(),
        "end": args.end.isoformat(), "chain_head": args.head,
    }  # fmt: skip


def export_verify(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 0 when every row and the chain head check out, 1 on a mismatch (each one printed), 2 unreadable."""
    try:
        return asyncio.run(_export_verify(settings, Path(args.file), _given(settings, args)))
    except (OSError, ValueError, KeyError, PolicyError) as exc:
        return _fail(f"cannot read the export: {exc}")
    except Exception as exc:
        return _fail(f"cannot check the export ({type(exc).__name__}: {exc})")
