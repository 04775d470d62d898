"""The audit trail is a hash chain per workspace: every event written links to the one before it, whoever writes
(two processes at once included), existing events are chained by the migration, and `shipmate audit verify` finds
an edited row, a removed row and a reordered pair, naming the first broken event."""

import asyncio
import itertools
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from bot.cli import main
from bot.domain import audit_chain
from bot.services.evidence import verify
from storage.db import Database
from storage.repositories import audit
from tests.conftest import BACKENDS, TEST_DATABASE_URL, _asyncpg_dsn, _pg_url

TEAM = "T0TEAM"
ROOT = Path(__file__).resolve().parents[3]


async def _rows(db: Database, team_id: str = TEAM) -> list[dict[str, object]]:
    async with db.read() as session:
        result = await session.exec(  # type: ignore[call-overload]
            text("SELECT id, actor_id, prev_hash, hash FROM audit_events WHERE team_id = :t ORDER BY id"),
            params={"t": team_id},
        )
        return [dict(row._mapping) for row in result]


async def _append(db: Database, *events: tuple[str, str], details: dict[str, object] | None = None) -> None:
    async with db.transaction() as session:
        for team_id, action in events:
            audit.append(session, team_id, "U0RM", action, details=details or {"why": "<!channel> =1+2"})


async def test_each_event_links_to_the_one_before_it_in_its_workspace(db: Database) -> None:
    await _append(db, (TEAM, "proposed"), ("T0OTHER", "proposed"), (TEAM, "approved"))
    await _append(db, (TEAM, "deployed"))
    rows = await _rows(db)
    assert [r["prev_hash"] for r in rows] == [audit_chain.GENESIS, rows[0]["hash"], rows[1]["hash"]]
    other = await _rows(db, "T0OTHER")
    assert other[0]["prev_hash"] == audit_chain.GENESIS
    verdict = await verify(db)
    assert verdict.broken is None
    assert verdict.chains == {TEAM: (3, rows[-1]["hash"]), "T0OTHER": (1, other[0]["hash"])}


async def test_audit_verify_prints_intact_with_the_head(
    db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await _append(db, (TEAM, "proposed"), (TEAM, "approved"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert await _cli("audit", "verify", "--team", TEAM) == 0
    head = (await _rows(db))[-1]["hash"]
    assert capsys.readouterr().out == f"intact: 2 events, head {head}\n"
    assert await _cli("audit", "verify", "--team", "T0NOBODY") == 0
    assert capsys.readouterr().out == f"intact: 0 events, head {audit_chain.GENESIS}\n"


async def _cli(*args: str) -> int:
    """`shipmate …` as a person runs it (its own event loop, here in a thread)."""
    return await asyncio.to_thread(main, list(args))


async def _tamper(db: Database, *statements: str) -> None:
    """Run statements with the append-only guard out of the way (as someone who can drop a trigger would)."""
    async with db.transaction() as session:
        if db.is_postgres:
            await session.exec(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))  # type: ignore[call-overload]
        else:
            for verb in ("update", "delete"):
                await session.exec(text(f"DROP TRIGGER audit_events_no_{verb}"))  # type: ignore[call-overload]
        for statement in statements:
            await session.exec(text(statement))  # type: ignore[call-overload]
        if db.is_postgres:  # the database outlives the test: the guard is back for the next one
            await session.exec(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))  # type: ignore[call-overload]


SWAP_PAIR = (  # ids 3 and 4 change places: every column but the id
    "UPDATE audit_events SET id = -3 WHERE id = 3",
    "UPDATE audit_events SET id = 3 WHERE id = 4",
    "UPDATE audit_events SET id = 4 WHERE id = -3",
)


@pytest.mark.parametrize(
    ("statements", "first_broken", "why"),
    [
        (("UPDATE audit_events SET actor_id = 'U0MALLORY' WHERE id = 3",), 3, "its content does not match"),
        (('UPDATE audit_events SET details = \'{"why": "nothing"}\' WHERE id = 4',), 4, "its content does not match"),
        (("DELETE FROM audit_events WHERE id = 3",), 4, "its link is broken"),
        (SWAP_PAIR, 3, "its link is broken"),
    ],
    ids=["edited-actor", "edited-details", "deleted", "reordered"],
)
async def test_audit_verify_names_the_first_broken_event(
    db: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    statements: tuple[str, ...],
    first_broken: int,
    why: str,
) -> None:
    for n in range(5):
        await _append(db, (TEAM, f"step{n}"), details={"n": n})
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert await _cli("audit", "verify") == 0
    capsys.readouterr()
    await _tamper(db, *statements)

    assert await _cli("audit", "verify", "--team", TEAM) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"broken: event {first_broken} of {TEAM} at 20"), out
    assert why in out
    verdict = await verify(db)
    assert verdict.broken is not None
    assert verdict.broken.event_id == first_broken


async def test_two_processes_appending_at_once_keep_one_unbroken_chain(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    count = 60
    module = "tests.services.evidence.chain_writer"
    names = ("U0ONE", "U0TWO")
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, database_url, name, str(count), str(tmp_path), cwd=ROOT
        )
        for name in names
    ]
    for _ in range(1200):  # both connected (at most 60 s on a busy machine), then both go at once
        if all((tmp_path / f"{name}.ready").exists() for name in names):
            break
        await asyncio.sleep(0.05)
    (tmp_path / "go").touch()
    for writer in writers:
        assert await asyncio.wait_for(writer.wait(), 120) == 0

    verdict = await verify(db)
    assert verdict.broken is None
    per_process = sum(1 + n % 3 for n in range(count))
    assert verdict.chains[TEAM][0] == 2 * per_process
    assert verdict.chains["T0OTHER"][0] == 2 * len(range(0, count, 5))
    actors = [r["actor_id"] for r in await _rows(db)]
    switches = sum(1 for a, b in itertools.pairwise(actors) if a != b)
    assert switches >= 4, "the two processes did not write at the same time"


async def _insert_old_events(url: str) -> None:
    """Events written before the chain existed (at 0008), for two workspaces, interleaved."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from storage.types import UTCDateTime

    old = sa.table(
        "audit_events",
        sa.column("team_id", sa.String()),
        sa.column("actor_id", sa.String()),
        sa.column("action", sa.String()),
        sa.column("details", sa.JSON()),
        sa.column("created_at", UTCDateTime()),
    )
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        for n in range(7):
            values = {"team_id": (TEAM, "T0OTHER")[n % 2], "actor_id": "U0OLD", "action": "noted"}
            at = datetime(2026, 1, n + 1, 10, 0, 0, 500_000, tzinfo=UTC)
            await connection.execute(old.insert().values(**values, details={"n": n, "b": [1, "x"]}, created_at=at))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of its own (the migration test runs migrations on it)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    name = f"shipmate_chain_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_the_migration_chains_existing_events_in_order(old_database: str) -> None:
    from storage.migrate import upgrade

    url = old_database
    await asyncio.to_thread(upgrade, url, "0011_release_notes")  # the revision before the chain
    await _insert_old_events(url)
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        await _append(db, (TEAM, "proposed"))  # a new event follows the migrated ones
        verdict = await verify(db)
        assert verdict.broken is None
        assert verdict.chains[TEAM][0] == 5
        assert verdict.chains["T0OTHER"][0] == 3
        async with db.transaction() as session:  # the guard is back
            with pytest.raises(Exception, match="append-only"):
                await session.exec(text("DELETE FROM audit_events"))  # type: ignore[call-overload]
    finally:
        await db.dispose()
