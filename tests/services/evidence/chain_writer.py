"""A process that appends audit events (`python -m tests.services.evidence.chain_writer URL NAME COUNT START_AT`):
COUNT transactions of one to three events each, for two workspaces, starting at the wall-clock time START_AT."""

import asyncio
import sys
import time

from storage.db import Database
from storage.repositories import audit


async def main(url: str, name: str, count: int, start_at: float) -> None:
    db = Database(url, pool_size=2)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    try:
        for n in range(count):
            async with db.transaction() as session:
                for k in range(1 + n % 3):
                    audit.append(session, "T0TEAM", name, "noted", details={"n": n, "k": k})
                if n % 5 == 0:
                    audit.append(session, "T0OTHER", name, "noted", details={"n": n})
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
