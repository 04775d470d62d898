"""`shipmate export changes` and `/release export`: every production change in a range of days, streamed a keyset
page at a time (memory stays flat however many there are), as RFC 4180 CSV with a header row (cells a spreadsheet
would run are neutralised) or as JSON, with the workspace's audit chain head at the time of the export."""

import csv
import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import TextIO

from bot.domain import change_export
from storage.db import Database
from storage.repositories import audit_chain as chain_rows
from storage.repositories import change_export as export_rows


@dataclass(frozen=True)
class Scope:
    """What an export covers: one workspace's changes in its final environment, `start` to `end` (days, inclusive)."""

    team_id: str
    environment: str
    start: date
    end: date


@dataclass(frozen=True)
class Stamp:
    """An export's record of itself (the sidecar of a CSV file, the `export` object of a JSON one)."""

    format: str
    team_id: str
    environment: str
    start: str
    end: str
    exported_at: str
    chain_head: str
    rows: int = 0


async def changes(db: Database, scope: Scope) -> AsyncIterator[dict[str, str]]:
    """The production changes of `scope`, oldest first, each as its cells (raw text)."""
    start, end = change_export.day_range(scope.start, scope.end)
    async with db.read() as session:
        async for page in export_rows.changes(
            session=session, team_id=scope.team_id, environment=scope.environment, start=start, end=end
        ):
            related = await export_rows.related(session=session, team_id=scope.team_id, page=page)
            for change in page:
                yield change_export.row(change, related[change["id"]])


async def stamp(db: Database, scope: Scope, fmt: str) -> Stamp:
    async with db.read() as session:
        head = await chain_rows.head(session=session, team_id=scope.team_id)
    now = datetime.now(UTC)
    return Stamp(
        fmt, scope.team_id, scope.environment, scope.start.isoformat(), scope.end.isoformat(), change_export.utc(now),
        head,
    )  # fmt: skip


async def write_csv(db: Database, scope: Scope, out: TextIO) -> Stamp:
    """The CSV (CRLF line ends, a header row, every cell neutralised); `out` is opened with newline=""."""
    head = await stamp(db, scope, "csv")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(change_export.COLUMNS)
    count = 0
    async for cells in changes(db, scope):
        writer.writerow([change_export.neutralise(cells[name]) for name in change_export.COLUMNS])
        count += 1
    return Stamp(**{**asdict(head), "rows": count})


async def write_json(db: Database, scope: Scope, out: TextIO) -> Stamp:
    """`{"changes": [...], "export": {…the stamp…}}`, one change a line (raw text: JSON is not run as formulas)."""
    head = await stamp(db, scope, "json")
    out.write('{"changes": [')
    count = 0
    async for cells in changes(db, scope):
        out.write(("\n" if count == 0 else ",\n") + json.dumps(cells, ensure_ascii=False))
        count += 1
    done = Stamp(**{**asdict(head), "rows": count})
    out.write(f'\n],\n"export": {json.dumps(asdict(done))}}}\n')
    return done
