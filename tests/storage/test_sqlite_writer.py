"""SQLite writes run on the event loop: while another process holds the write lock, a write waits for it without
stopping the event loop (SQLite says "busy" at once and the statement is tried again after an asynchronous sleep),
then goes through; nothing is lost or doubled."""

import asyncio
import time
from pathlib import Path

from sqlalchemy import text

from storage.db import Database
from storage.migrate import upgrade


async def test_a_write_waits_for_another_process_lock_without_stopping_the_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shipmate.db'}"
    await asyncio.to_thread(upgrade, url)
    first, second = Database(url), Database(url)  # two processes: each has its own writer lock
    ticks = 0
    try:

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        holding = asyncio.Event()

        async def hold_the_lock() -> None:
            async with first.transaction() as session:
                await session.exec(text("INSERT INTO processed_events (team_id, key, created_at) VALUES ('T', 'a', 0)"))  # type: ignore[call-overload]
                holding.set()
                await asyncio.sleep(0.5)  # the other process's write must wait this long

        holder = asyncio.create_task(hold_the_lock())
        await holding.wait()
        started, ticks_before = time.monotonic(), ticks
        async with second.transaction() as session:
            await session.exec(text("INSERT INTO processed_events (team_id, key, created_at) VALUES ('T', 'b', 0)"))  # type: ignore[call-overload]
        waited = time.monotonic() - started
        await holder
        ticker.cancel()

        assert waited >= 0.3, "the second write began while the first held the lock"
        assert ticks - ticks_before >= 10, "the event loop stopped while the write waited"
        async with second.read() as session:
            keys = (await session.exec(text("SELECT key FROM processed_events ORDER BY key"))).all()  # type: ignore[call-overload]
        assert [row[0] for row in keys] == ["a", "b"]
    finally:
        await first.dispose()
        await second.dispose()
