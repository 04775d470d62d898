"""CPU per call of the hottest paths, in-process: App Home (the service and its render), `/release list`, `show`,
`history` and `status` (each route: service and render), `propose` and `approve` (each release approved by two
approvers, the second meeting the quorum), on the bench's seeded database, without HTTP, Bolt or a second process
in the way.

For comparing two versions of the code on the same machine at the same moment (the closed-loop tables depend on
how fast the host is that day; an A/B in one sitting does not):

    python -m bench.inprocess --backend sqlite            # this checkout
    git stash; python -m bench.inprocess --backend sqlite; git stash pop   # the one before

On a host whose speed drifts between minutes (a shared VM), run the two at the same moment instead, each from its
own checkout, so both see the same drift:

    git worktree add ../before HEAD~1
    (cd ../before && python -m bench.inprocess --only propose,approve) &
    python -m bench.inprocess --only propose,approve; wait

Prints the median CPU ms per call over five runs of 100 calls each, after 40 warm-up calls, and the fastest run
(on a shared machine the least disturbed one: the better figure for an A/B). `--only list,show` picks rows.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from bench.seed import HOME_USERS, SERVICES, TEAM
from bench.servers import POLICY, drop_databases, make_database
from bot.domain.grammar import deploys
from bot.domain.grammar import releases as release_commands
from bot.domain.grammar.registry import Command
from bot.domain.policy import parse_policy
from bot.domain.proposal import ProposeRequest
from bot.domain.validation import ReleaseRef
from bot.render import render
from bot.services import home
from bot.services.approvals import approvals
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.releases import releases
from bot.settings import Settings
from handlers import commands
from handlers.routes import ROUTES
from storage.db import Database

WARM_UP = 40
RUNS = 5
CALLS = 100


class BenchDirectory:
    """The home users are members of the approver group S0RELMGR, as the bench's fake Slack says."""

    async def members(self, team_id: str, group_ids: Iterable[str]) -> dict[str, frozenset[str]]:
        return {"S0RELMGR": frozenset(HOME_USERS)}


async def cpu_ms_per_call(call: Callable[[int], Awaitable[None]]) -> tuple[float, list[float]]:
    for i in range(WARM_UP):
        await call(i)
    runs = []
    for _ in range(RUNS):
        started = time.process_time()
        for i in range(CALLS):
            await call(i)
        runs.append((time.process_time() - started) * 1000 / CALLS)
    return statistics.median(runs), runs


Call = Callable[[int], Awaitable[None]]


def route_calls(ctx: ServiceContext, releases_seeded: int) -> list[tuple[str, Call]]:
    """The read commands' routes (service and render), on the refs both datasets hold."""
    assert commands.ROUTE_MODULES  # loaded: `ROUTES` holds every command's route
    refs = [ReleaseRef(f"svc{n % SERVICES}", f"1.{n // SERVICES}.0") for n in range(min(200, releases_seeded))]

    def route(command: Callable[[int], Command]) -> Call:
        async def call(i: int) -> None:
            parsed = command(i)
            await ROUTES[type(parsed)](ctx, Actor(TEAM, "U0BENCH"), parsed)

        return call

    return [
        ("/release list (route)", route(lambda i: release_commands.ListReleases(None))),
        ("/release show (route)", route(lambda i: release_commands.Show(refs[i % len(refs)]))),
        ("/release history (route)", route(lambda i: release_commands.History(refs[i % len(refs)], 1))),
        ("/release status (route)", route(lambda i: deploys.StatusReport(None))),
    ]


async def seeded_context(backend: str, workdir: Path, name: str, releases_seeded: int = 200) -> ServiceContext:
    """The services' context on a fresh database seeded as the bench seeds it (10 audit events per release), with
    the bench's policy; its `db` is the caller's to dispose of."""
    url, seed = await make_database(backend, workdir, name)
    await seed(releases_seeded, 10)
    return ServiceContext(
        db=Database(url),
        policy=parse_policy(POLICY),
        settings=Settings(_env_file=None, database_url=url),
        directory=BenchDirectory(),
    )


async def measure(backend: str, releases_seeded: int, only: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="shipmate-inprocess-") as workdir:
        ctx = await seeded_context(backend, Path(workdir), "inprocess", releases_seeded)
        db = ctx.db

        async def open_home(i: int) -> None:
            view = await home.home(ctx, Actor(TEAM, HOME_USERS[i % len(HOME_USERS)]))
            render("home", view=view)

        async def list_releases(i: int) -> None:
            await releases.list_recent(ctx, Actor(TEAM, "U0BENCH"), None)

        proposed: list[int] = []

        async def propose(i: int) -> None:
            request = ProposeRequest("inprocess", f"1.{len(proposed)}", "A release to approve")
            proposed.append((await releases.propose(ctx, Actor(TEAM, "U0PROPOSER", "C0RELEASE"), request)).pk)

        approved = 0

        async def approve(i: int) -> None:
            nonlocal approved
            await approvals.approve(ctx, Actor(TEAM, ("U0BOB", "U0CAROL")[approved % 2]), proposed[approved // 2])
            approved += 1

        try:
            for name, call in (
                ("App Home (service + render)", open_home),
                ("/release list (service)", list_releases),
                *route_calls(ctx, releases_seeded),
                ("propose (service)", propose),
                ("approve (service)", approve),
            ):
                if only and not any(word in name for word in only):
                    continue
                median, runs = await cpu_ms_per_call(call)
                shown = ", ".join(f"{r:.2f}" for r in runs)
                print(f"{backend} {name}: {median:.2f} ms CPU per call, fastest {min(runs):.2f} (runs: {shown})")
        finally:
            await db.dispose()
            if backend != "sqlite":
                await drop_databases()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--releases", type=int, default=200, help="releases seeded (10 audit events each)")
    parser.add_argument("--only", default="", help="comma list of words: rows whose name holds one (e.g. list,show)")
    args = parser.parse_args()
    asyncio.run(measure(args.backend, args.releases, [word for word in args.only.split(",") if word]))


if __name__ == "__main__":
    main()
