"""`shipmate export verify FILE`: an export checked again, row by row and cell by cell, against what the database
says now (the same export made again, streamed beside the file), and the chain head it recorded checked against
the audit chain (still intact, and that head still in it). A CSV's record is its sidecar `FILE.chain.json` (with
the file's sha256); a JSON export carries its own. A cell that changed since (a later rollback, a review closed)
is reported too: export again after such changes."""

import csv
import hashlib
import itertools
import json
from collections.abc import Iterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot.domain import audit_chain, change_export
from bot.services.evidence.chain_check import walk
from bot.services.evidence.change_export import Scope, changes
from storage.db import Database

MAX_PROBLEMS = 20


@dataclass
class ExportCheck:
    rows: int = 0
    head_event: int | None = None  # the audit event whose hash is the export's chain head
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".chain.json")


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _csv_rows(path: Path, check: ExportCheck) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream)
        header = next(reader, [])
        if tuple(header) != change_export.COLUMNS:
            check.problem(f"the header row is not the export's columns ({', '.join(change_export.COLUMNS)})")
            return
        for cells in reader:
            yield dict(zip(change_export.COLUMNS, cells, strict=False))


def _read(
    path: Path, check: ExportCheck, given: Mapping[str, Any] | None
) -> tuple[dict[str, Any], Iterator[dict[str, str]], bool]:
    """The export's stamp, its rows, and whether its cells were neutralised (CSV). A CSV without its sidecar (one
    sent in Slack) is checked against the stamp `given` (workspace, environment, days, chain head)."""
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return data["export"], iter(data["changes"]), False
    stamp_path = sidecar(path)
    if not stamp_path.exists():
        if given is not None:
            return dict(given), _csv_rows(path, check), True
        raise FileNotFoundError(
            f"{stamp_path} (the export's record of itself) is missing; for a file sent in Slack, give --team, "
            "--from, --to and --head (the chain head in its comment)"
        )
    stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    if stamp.get("sha256") != file_digest(path):
        check.problem(f"{path.name} is not the file that was exported (its sha256 differs from {stamp_path.name})")
    return stamp, _csv_rows(path, check), True


async def _compare_rows(
    db: Database, scope: Scope, rows: Iterator[dict[str, str]], neutral: bool, check: ExportCheck
) -> None:
    sentinel: dict[str, str] = {}
    n = 0
    source = changes(db, scope)
    async for expected in source:
        given = next(rows, sentinel)
        n += 1
        if given is sentinel:
            check.problem(f"row {n}: the database has change {expected['change_id']}, which the file lacks")
            continue
        for name in change_export.COLUMNS:
            want = change_export.neutralise(expected[name]) if neutral else expected[name]
            if given.get(name) != want:
                check.problem(
                    f"row {n} (change {expected['change_id']}), {name}: the file has {given.get(name)!r}, "
                    f"the database has {want!r}"
                )
    for extra in itertools.islice(rows, MAX_PROBLEMS):
        n += 1
        check.problem(f"row {n} (change {extra.get('change_id')}): not a production change in the database")
    check.rows = n


async def _check_head(db: Database, team_id: str, head: str, check: ExportCheck) -> None:
    found = head == audit_chain.GENESIS
    async with aclosing(walk(db, team_id)) as events:  # closed (its read ended) even when it stops early
        async for event, why in events:
            if why is not None:
                at = event["created_at"].isoformat()
                check.problem(f"the audit chain is broken at event {event['id']} ({at}): {why}")
                return
            if event["hash"] == head:
                found, check.head_event = True, int(event["id"])
    if not found:
        check.problem(f"the export's chain head {head} is not in the audit chain of {team_id}")


async def check_export(db: Database, path: Path, given: Mapping[str, Any] | None = None) -> ExportCheck:
    """Every row of the export at `path` against the database, and its chain head against the audit chain."""
    check = ExportCheck()
    stamp, rows, neutral = _read(path, check, given)
    scope = Scope(
        stamp["team_id"], stamp["environment"], date.fromisoformat(stamp["start"]), date.fromisoformat(stamp["end"])
    )
    await _compare_rows(db, scope, rows, neutral, check)
    if "rows" in stamp and check.rows != stamp["rows"]:
        check.problem(f"the export recorded {stamp.get('rows')} rows; the file and database give {check.rows}")
    await _check_head(db, scope.team_id, stamp["chain_head"], check)
    return check
