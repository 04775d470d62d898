"""CPU per Slack message delivered, in process: the outbox dispatcher's claims, marks and Slack calls, without the
change that owed the message. `python -m bench.delivery --backend sqlite --batches 1,10`

Proposes releases (each owes its card), then has two approvers approve each (a thread line and an updated card,
and at the quorum a stakeholder post), on the bench's seeded database; after each, the dispatcher sends what is owed
in batches of the given size, against the bench's fake Slack Web API running in a child process (its CPU is not
counted). Prints the CPU of this process per message sent: a batch's claim and mark are shared by its messages,
each message costs its Slack call.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import col, func, select

from bench.inprocess import seeded_context
from bench.seed import TEAM
from bench.servers import drop_databases
from bench.slack_side import SlackSide
from bot import logs
from bot.domain.proposal import ProposeRequest
from bot.notify.dispatcher import Dispatcher
from bot.notify.slack_clients import SlackClients
from bot.notify.slack_sender import SlackSender
from bot.services.approvals import approvals
from bot.services.kernel.context import Actor
from bot.services.releases import releases
from storage.db import Database
from storage.models import OutboxMessage

RELEASES = 200


async def _pending(db: Database) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.status) == "pending")
        return int((await session.exec(query)).one())


async def _drain(dispatcher: Dispatcher, db: Database) -> tuple[int, float]:
    """(messages sent, CPU ms each)."""
    owed = await _pending(db)
    started = time.process_time()
    while await dispatcher.dispatch_once():
        pass
    return owed - await _pending(db), (time.process_time() - started) * 1000 / max(1, owed)


async def measure(backend: str, batch: int, api_url: str, round_: int) -> None:
    with tempfile.TemporaryDirectory(prefix="shipmate-delivery-") as workdir:
        ctx = await seeded_context(backend, Path(workdir), f"delivery{batch}x{round_}")
        db = ctx.db
        base = AsyncWebClient(token="xoxb-bench", base_url=api_url)
        base.session = aiohttp.ClientSession()
        dispatcher = Dispatcher(
            db, SlackSender(db, SlackClients(base)), lease=timedelta(minutes=5), poll_interval=1.0, batch=batch
        )
        try:
            for phase, version in (("warm-up", "7"), ("measured", "8")):
                ids = []
                for i in range(RELEASES if phase == "measured" else 40):
                    request = ProposeRequest("delivery", f"{version}.{i}", "A release to deliver")
                    ids.append((await releases.propose(ctx, Actor(TEAM, "U0PROPOSER", "C0RELEASE"), request)).pk)
                cards = await _drain(dispatcher, db)
                for approver in ("U0BOB", "U0CAROL"):
                    for release_id in ids:
                        await approvals.approve(ctx, Actor(TEAM, approver), release_id)
                approved = await _drain(dispatcher, db)
                if phase == "measured":
                    print(
                        f"{backend} batch {batch}: {cards[1]:.2f} ms CPU per card posted ({cards[0]}), "
                        f"{approved[1]:.2f} ms per approval's message ({approved[0]}: thread lines, cards updated, "
                        "stakeholder posts)"
                    )
        finally:
            await base.session.close()
            await db.dispose()
            if backend != "sqlite":
                await drop_databases()


async def slack_in_child() -> tuple[asyncio.subprocess.Process, str]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.delivery", "--serve-slack", stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    port = int((await child.stdout.readline()).decode())
    return child, f"http://127.0.0.1:{port}/api/"


async def serve_slack() -> None:
    side = SlackSide()
    await side.start()
    print(side.port, flush=True)
    await asyncio.Event().wait()


async def run(backend: str, batches: list[int], rounds: int) -> None:
    child, api_url = await slack_in_child()
    try:
        for round_ in range(rounds):
            for batch in batches:
                await measure(backend, batch, api_url, round_)
    finally:
        child.kill()
        await child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--batches", default="1,10", help="comma list of batch sizes")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve-slack", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_slack:
        asyncio.run(serve_slack())
        return
    logs.configure()  # as `shipmate run` does: the loggers' levels decide what the Slack clients format
    asyncio.run(run(args.backend, [int(size) for size in args.batches.split(",")], args.rounds))


if __name__ == "__main__":
    main()
