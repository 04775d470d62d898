"""`shipmate export changes`: a known history exports exactly as written by hand, field by field (RFC 4180, CRLF,
a header row), hostile text survives intact and inert (cells a spreadsheet would run get a leading apostrophe),
JSON carries the same cells, and `shipmate export verify` catches an edited cell, a removed row and a rewritten
audit chain."""

import asyncio
import csv
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.cli import main
from bot.domain.change_export import COLUMNS, neutralise
from storage.db import Database
from tests.conftest import POLICY
from tests.services.evidence.history import HOSTILE, SHA, TEAM, seed
from tests.services.evidence.test_audit_chain import _tamper

B, C = "b" * 64, "c" * 64
EXPECTED = [  # written by hand from tests/services/evidence/history.py; the audit hashes are read back
    ["2", "2026-03-03T10:00:00Z", "prod", "payments@2.4.0", SHA, "succeeded", "", "high", "U0ALICE",
     f"U0BOB at 2026-03-02T10:00:00Z scope {B}; U0CAROL at 2026-03-02T11:00:00Z scope {C}",
     "U0RM", "https://ci.example/run/7", "U0QA in qa", f"passed at 2026-03-02T14:00:00Z: {HOSTILE}",
     "status, pipeline, approvals, regression",
     "freeze (Holiday freeze) overridden by U0RM: @oncall said go, -1 risk", "", "",
     "2026-03-03T11:00:00Z", "U0RM", "'" + HOSTILE, "closed at 2026-03-05T09:00:00Z: + Fixed, mostly",
     "[done] U0DAN: Add an alert, soon (due 2026-03-10T00:00:00Z, done 2026-03-06T09:00:00Z by U0DAN); "
     f"[open] U0EVE: {HOSTILE} (due 2026-03-12T00:00:00Z)",
     "https://slack.com/archives/C0RELEASE/p1700000000000100", "2", "<hash 2>"],
    ["3", "2026-03-04T15:00:00Z", "prod", "search@1.0.0", "", "failed", "", "high", "U0BOB", "", "ci",
     "https://ci.example/run/8", "", "", "", "gates bypassed by ci: no approvals yet | status: proposed", "", "",
     "", "", "", "", "", "https://slack.com/archives/C0RELEASE/p1700000000000200", "3", "<hash 3>"],
]  # fmt: skip


@pytest.fixture
async def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SHIPMATE_POLICY_TOML", POLICY)
    database = Database(database_url)
    await seed(database)
    yield database
    await database.dispose()


async def _cli(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))


async def _hashes(db: Database) -> dict[str, str]:
    async with db.read() as session:
        rows = (await session.exec(text("SELECT id, hash FROM audit_events"))).all()  # type: ignore[call-overload]
    return {f"<hash {row[0]}>": row[1] for row in rows}


async def _expected(db: Database) -> list[list[str]]:
    hashes = await _hashes(db)
    return [[hashes.get(cell, cell) for cell in row] for row in EXPECTED]


async def test_a_known_history_exports_as_written_by_hand(db: Database, tmp_path: Path) -> None:
    out = tmp_path / "changes.csv"
    assert await _cli("export", "changes", "--from", "2026-03-01", "--to", "2026-03-07", "--out", str(out)) == 0
    raw = out.read_bytes().decode()
    assert raw.startswith(",".join(COLUMNS) + "\r\n")
    with out.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == list(COLUMNS)
    expected = await _expected(db)
    for got, want in zip(rows[1:], expected, strict=True):
        assert dict(zip(COLUMNS, got, strict=True)) == dict(zip(COLUMNS, want, strict=True))
    # Inert: the formula is text (a leading apostrophe), quotes doubled inside a quoted cell, newlines kept.
    assert '"\'=HYPERLINK(""http://evil.example/?a=1,2"",""click"") <!channel>\n""quoted"", and more"' in raw
    stamp = json.loads((tmp_path / "changes.csv.chain.json").read_text())
    assert stamp["rows"] == 2
    assert stamp["team_id"] == TEAM
    assert stamp["environment"] == "prod"
    assert stamp["chain_head"] == expected[1][-1]  # the newest event of the workspace


async def test_json_carries_the_same_cells_raw(db: Database, tmp_path: Path) -> None:
    out = tmp_path / "changes.json"
    args = ("--from", "2026-03-01", "--to", "2026-03-07", "--team", TEAM, "--format", "json", "--out", str(out))
    assert await _cli("export", "changes", *args) == 0
    data = json.loads(out.read_text())
    expected = await _expected(db)
    assert [list(change.values()) for change in data["changes"]] == [
        [cell[1:] if cell.startswith("'=") else cell for cell in row] for row in expected
    ]
    assert data["export"]["rows"] == 2
    assert await _cli("export", "verify", str(out)) == 0


async def test_export_verify_passes_an_untouched_export_and_catches_an_edited_cell(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "changes.csv"
    assert await _cli("export", "changes", "--from", "2026-03-01", "--to", "2026-03-07", "--out", str(out)) == 0
    assert await _cli("export", "verify", str(out)) == 0
    assert capsys.readouterr().out.startswith("verified: 2 rows match the database")

    out.write_bytes(out.read_bytes().replace(b"U0BOB at", b"U0MALLORY at"))
    assert await _cli("export", "verify", str(out)) == 1
    found = capsys.readouterr().out
    assert "is not the file that was exported" in found
    assert "row 1 (change 2), approvals: the file has 'U0MALLORY at" in found


async def test_export_verify_catches_a_removed_row(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "changes.csv"
    assert await _cli("export", "changes", "--from", "2026-03-01", "--to", "2026-03-07", "--out", str(out)) == 0
    with out.open(newline="") as stream:
        rows = list(csv.reader(stream))
    with out.open("w", newline="") as stream:
        csv.writer(stream).writerows([rows[0], rows[2]])
    assert await _cli("export", "verify", str(out)) == 1
    assert "row 1 (change 2), change_id: the file has '3'" in capsys.readouterr().out


def test_cells_a_spreadsheet_would_run_are_neutralised() -> None:
    for hostile in ("=1+2", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert neutralise(hostile) == "'" + hostile
    for plain in ("payments@2.4.0", "2026-03-03T10:00:00Z", "", "U0BOB", "'quoted"):
        assert neutralise(plain) == plain


async def test_bad_dates_and_ranges_are_refused_clearly(db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        await _cli("export", "changes", "--from", "March 1", "--to", "2026-03-07")
    assert "'March 1' is not a date: write it as YYYY-MM-DD" in capsys.readouterr().err
    assert await _cli("export", "changes", "--from", "2026-03-07", "--to", "2026-03-01") == 2
    assert "--to 2026-03-01 is before --from 2026-03-07" in capsys.readouterr().err


async def test_export_verify_catches_a_rewritten_audit_trail(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "changes.csv"
    assert await _cli("export", "changes", "--from", "2026-03-01", "--to", "2026-03-07", "--out", str(out)) == 0
    await _tamper(db, "UPDATE audit_events SET actor_id = 'U0MALLORY' WHERE id = 1")
    assert await _cli("export", "verify", str(out)) == 1
    assert "the audit chain is broken at event 1" in capsys.readouterr().out
