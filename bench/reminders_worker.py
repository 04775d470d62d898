"""`python -m bench.reminders_worker URL POLICY [--batch N]`: one reminder-engine process for the claims benchmark.

It builds what a server process builds for its clock (a ServiceContext and a `bot.scheduler.Scheduler`), imports and
connects first, prints `ready`, waits for a line on stdin (so every worker starts together and start-up is not
timed), then runs `Scheduler.sweep()` — claim a batch, run it through `bot.services.reminders.run`, repeat until no
due job is left — and prints one JSON line: jobs run, and wall-clock start and end (time.time(), comparable across
processes). The outbox dispatcher is not started: the claims are measured, not the Slack sends after them.
"""

import asyncio
import json
import sys
import time
from pathlib import Path

from bot.domain.policy import load_policy
from bot.scheduler import Scheduler
from bot.services.kernel.context import ServiceContext
from bot.settings import Settings
from storage.db import Database


async def main() -> None:
    url, policy_path = sys.argv[1], Path(sys.argv[2])
    batch = int(sys.argv[sys.argv.index("--batch") + 1]) if "--batch" in sys.argv else None
    settings = Settings(database_url=url, shipmate_policy=policy_path)
    db = Database(url)
    services = ServiceContext(db=db, policy=load_policy(policy_path), settings=settings)
    scheduler = Scheduler(services, poll_interval=3600)
    if batch is not None:
        scheduler.batch = batch
    await db.ping()  # connect before the start line
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    started = time.time()
    ran = await scheduler.sweep()
    ended = time.time()
    await db.dispose()
    print(json.dumps({"ran": ran, "start": started, "end": ended}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
