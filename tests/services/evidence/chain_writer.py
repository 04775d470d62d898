"""A process that appends audit events (`python -m tests.services.evidence.chain_writer URL NAME COUNT DIR`):
COUNT transactions of one to three events each, for two workspaces. Once connected it writes DIR/NAME.ready and
waits for DIR/go, so that two writers start together; a short pause between transactions lets the other writer's
turn come (as between real requests)."""

import asyncio
import sys
from pathlib import Path

from storage.db import Database
from storage.repositories import audit


async def main(url: str, name: str, count: int, signals: Path) -> None:
    db = Database(url, pool_size=2)
    async with db.read() as session:
        await session.connection()
    (signals / f"{name}.ready").touch()
    for _ in range(12_000):  # polls a file another process makes: no event to wait on (at most 2 minutes)
        if (signals / "go").exists():
            break
        await asyncio.sleep(0.01)
    try:
        for n in range(count):
            async with db.transaction() as session:
                for k in range(1 + n % 3):
                    audit.append(session, "T0TEAM", name, "noted", details={"n": n, "k": k})
                if n % 5 == 0:
                    audit.append(session, "T0OTHER", name, "noted", details={"n": n})
            await asyncio.sleep(0.002)
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])))
