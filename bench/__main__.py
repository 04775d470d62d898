"""`python -m bench [--backends sqlite,postgresql] [--seconds 6] [--only reads,scale,home,reminders,metrics]`: run the
benchmarks, print and save the figures (with --only, merged into an existing results file).

The server under test runs in its own process (`python -m bot run --mode http`); this process plays Slack: the
Web API, the response_url receiver and the load generator (aiohttp, closed loop, every request freshly signed).
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench import metrics, reminders, seed
from bench.slack_side import SECRET, SlackSide, load

POLICY = """release_managers = ["U0RM"]
[slack]
coordination_channel = "C0RELEASE"
stakeholder_channel = "C0STAKE"
[[environments]]
name = "dev"
[[environments]]
name = "qa"
[[environments]]
name = "prod"
approvals = 2
approvers = ["U0BOB", "U0CAROL", "S0RELMGR"]
"""
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
READS: dict[str, Callable[[int, int], str]] = {
    "list": lambda w, i: "list",
    "list service": lambda w, i: f"list svc{(w + i) % 50}",
    "show": lambda w, i: f"show svc{(w + i) % 50}@1.{i % 4}.0",
    "history": lambda w, i: f"history svc{(w + i) % 50}@1.{i % 4}.0",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """A server process; `started_in` is spawn → first 200 from /healthz."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.argv = [*argv, "--port", str(self.port)]
        self.env = {**os.environ, **env}
        self.log = log
        self.started_in = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def __aenter__(self) -> "Server":
        t0 = time.perf_counter()
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if self.process.returncode is not None:
                    raise RuntimeError(f"server exited; see {self.log}")
                await asyncio.sleep(0.005)
        self.started_in = time.perf_counter() - t0
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.process.terminate()
        await asyncio.wait_for(self.process.wait(), 30)


def shipmate(side: SlackSide, database_url: str, workdir: Path) -> Server:
    policy = workdir / "shipmate.toml"
    policy.write_text(POLICY)
    env = {
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": side.api_url,
        "DATABASE_URL": database_url,
        "SHIPMATE_POLICY": str(policy),
    }
    return Server([sys.executable, "-m", "bot", "run", "--mode", "http"], env, workdir / "server.log")


async def fresh_database(backend: str, workdir: Path, name: str) -> tuple[str, str]:
    """A fresh, migrated database: (SQLAlchemy URL, sqlite path or asyncpg DSN)."""
    from storage.migrate import upgrade

    if backend == "sqlite":
        path = workdir / f"{name}.db"
        url = f"sqlite+aiosqlite:///{path}"
        await asyncio.to_thread(upgrade, url)
        return url, str(path)
    database = f"shipmate_bench_{name}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    dsn = PG_ADMIN.rsplit("/", 1)[0] + "/" + database
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    await asyncio.to_thread(upgrade, url)
    return url, dsn


async def make_database(backend: str, workdir: Path, name: str) -> tuple[str, Callable[[int, int], Any]]:
    """A fresh, migrated database and a function that seeds it (releases, audit events per release, and what
    the App Home benchmark needs on top)."""
    url, target = await fresh_database(backend, workdir, name)

    async def seeded(releases: int, per_release: int) -> None:
        if backend == "sqlite":
            await asyncio.to_thread(seed.seed_sqlite, target, releases, per_release)
            await asyncio.to_thread(seed.seed_home_sqlite, target, releases)
        else:
            await seed.seed_postgres(target, releases, per_release)
            await seed.seed_home_postgres(target, releases)

    return url, seeded


async def run_reminders(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Claims/s of the reminder engine: `args.jobs` due jobs, claimed and run by 1 (and on PostgreSQL 2) worker
    processes until none is left, in a fresh database per run; then the exactly-once check."""
    policy = workdir / "shipmate.toml"
    policy.write_text(POLICY)
    out: dict[str, Any] = {}
    for processes in (1, 2) if backend == "postgresql" else (1,):
        url, target = await fresh_database(backend, workdir, f"jobs{processes}")
        t0 = time.perf_counter()
        if backend == "sqlite":
            await asyncio.to_thread(reminders.seed_sqlite, target, args.jobs)
        else:
            await reminders.seed_postgres(target, args.jobs)
        seeded = time.perf_counter() - t0
        run = await reminders.run_workers(url, policy, processes, workdir / "reminders.log", args.job_batch)
        checked = await reminders.check(backend, target)
        run.update(
            jobs=args.jobs,
            seed_s=seeded,
            claims_per_s=checked["done"] / run["wall_s"],
            check=checked,
            exactly_once=checked["done"] == args.jobs
            and checked["not_done"] == 0
            and checked["thread_rows"] == checked["thread_releases"] == args.jobs,
        )
        out[f"{processes}p"] = run
        print(f"  reminders {backend} {processes}p: {json.dumps(run)}", flush=True)
    return out


async def run_metrics(backend: str, args: argparse.Namespace, side: SlackSide, workdir: Path) -> dict[str, Any]:
    """`/release metrics` at scale (see bench/metrics.py): the data path, the chart, and the command end to end."""
    url, target = await fresh_database(backend, workdir, "metrics")
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    per_release = args.events // args.releases
    if backend == "sqlite":
        await asyncio.to_thread(seed.seed_sqlite, target, args.releases, per_release)
        deployments = await asyncio.to_thread(metrics.seed_sqlite, target, args.releases, now)
    else:
        await seed.seed_postgres(target, args.releases, per_release)
        deployments = await metrics.seed_postgres(target, args.releases, now)
    out: dict[str, Any] = {"seed_s": time.perf_counter() - t0, "deployments": deployments, "releases": args.releases}
    out.update(await metrics.data_path(url, args.metric_runs))
    async with shipmate(side, url, workdir) as server:
        stats = await load(side, server.url, metrics.services_in_turn, seconds=args.seconds, concurrency=1)
        out["end to end"] = stats.summary()
    print(f"  metrics {backend} end to end: {json.dumps(out['end to end'])}", flush=True)
    return out


async def drop_databases() -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        for row in await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'shipmate_bench_%'"):
            await admin.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await admin.close()


async def run_backend(backend: str, args: argparse.Namespace, side: SlackSide, workdir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    seconds, conns = args.seconds, args.concurrency
    only = set(args.only.split(","))
    if "reminders" in only:
        out["reminders"] = await run_reminders(backend, args, workdir)
    if "metrics" in only:
        out["metrics"] = await run_metrics(backend, args, side, workdir)
    if "home" in only:
        out.update(await run_home(backend, args, side, workdir))
    if "reads" not in only and "scale" not in only:
        return out
    reference = Server([sys.executable, "-m", "bench.reference"], {
        "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": side.api_url,
    }, workdir / "reference.log")  # fmt: skip
    async with reference:
        out["reference"] = (
            await load(side, reference.url, READS["list"], seconds=seconds, wait_answer=False)
        ).summary()

    small_url, seed_small = await make_database(backend, workdir, "small")
    await seed_small(args.small, 10)
    async with shipmate(side, small_url, workdir) as server:
        out["start_s"] = server.started_in
        await asyncio.sleep(2)
        out["idle_rss_mb"] = rss_mb(server.process.pid)
        for name, text in READS.items():
            out[f"small {name}"] = (await load(side, server.url, text, seconds=seconds, concurrency=conns)).summary()
        run = uuid.uuid4().hex[:4]

        def write(w, i):
            return f"propose w{run}{w} 1.{i}.0 Benchmark write"  # unique service per connection

        out["write propose"] = (await load(side, server.url, write, seconds=seconds, concurrency=conns)).summary()
        out["rss_after_load_mb"] = rss_mb(server.process.pid)

    if not args.skip_scale and "scale" in only:
        big_url, seed_big = await make_database(backend, workdir, "big")
        t0 = time.perf_counter()
        await seed_big(args.releases, args.events // args.releases)
        out["seed_s"] = time.perf_counter() - t0
        async with shipmate(side, big_url, workdir) as server:
            out["start_big_s"] = server.started_in
            for name, text in READS.items():
                out[f"big {name}"] = (await load(side, server.url, text, seconds=seconds, concurrency=conns)).summary()
    return out


async def run_home(backend: str, args: argparse.Namespace, side: SlackSide, workdir: Path) -> dict[str, Any]:
    """The App Home read path (`app_home_opened` → `views.publish`), near-empty and at scale."""
    out: dict[str, Any] = {}
    sizes = [("small", args.small, 10)] + (
        [] if args.skip_scale else [("big", args.releases, args.events // args.releases)]
    )
    for name, releases, per_release in sizes:
        url, seeded = await make_database(backend, workdir, f"home{name}")
        await seeded(releases, per_release)
        async with shipmate(side, url, workdir) as server:
            out[f"{name} home"] = (
                await load(
                    side, server.url, READS["list"], seconds=args.seconds, concurrency=args.concurrency, home=True
                )
            ).summary()
        print(f"  home {backend} {name}: {json.dumps(out[f'{name} home'])}", flush=True)
    return out


def machine() -> dict[str, str]:
    memory = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    versions = {}
    for package in ("slack_bolt", "slack_sdk", "aiohttp", "sqlalchemy", "aiosqlite", "asyncpg"):
        from importlib.metadata import version

        versions[package] = version(package.replace("_", "-"))
    pg = (
        subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
        if shutil.which("psql")
        else "?"
    )
    return {
        "nproc": str(os.cpu_count()),
        "memory": memory.split(":")[1].strip(),
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "postgresql": pg,
        "kernel": platform.release(),
        **versions,
    }


def main() -> None:
    """File and machine reads at the edges; the measuring runs in one event loop."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--small", type=int, default=200, help="releases in the near-empty database")
    parser.add_argument("--releases", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument(
        "--only",
        default="reads,scale,home,reminders,metrics",
        help="comma list of: reads, scale, home, reminders, metrics",
    )
    parser.add_argument("--metric-runs", type=int, default=200, help="sequential calls per data path variant")
    parser.add_argument("--jobs", type=int, default=10_000, help="due reminders in the claims benchmark")
    parser.add_argument("--job-batch", type=int, default=None, help="claim batch size (default: the scheduler's)")
    parser.add_argument("--out", default="bench/results.json")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    partial = set(args.only.split(",")) != {"reads", "scale", "home", "reminders", "metrics"}
    if partial and Path(args.out).exists():  # a partial run updates its figures in the last full run's file
        results = {**json.loads(Path(args.out).read_text()), "machine": results["machine"]}
        results[f"when {args.only}"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    asyncio.run(measure(args, results))
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"saved {args.out}")


async def measure(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Run the selected benchmarks per backend, adding each backend's figures to `results`."""
    side = SlackSide()
    await side.start()
    try:
        for backend in args.backends.split(","):
            with tempfile.TemporaryDirectory(prefix="shipmate-bench-") as workdir:
                print(f"== {backend}", flush=True)
                results[backend] = {**results.get(backend, {}), **await run_backend(backend, args, side, Path(workdir))}
                print(json.dumps(results[backend], indent=1), flush=True)
    finally:
        await side.close()
        if "postgresql" in args.backends:
            await drop_databases()


if __name__ == "__main__":
    main()
