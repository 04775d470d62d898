"""`python -m bench`: every benchmark on SQLite and PostgreSQL, then `bench/results.json` and `bench/RESULTS.md`
(≈ 20 minutes on 2 cores). `--only closed,open,reminders,metrics,gates,instructions` runs a part (merged into the
results); `--seconds` shortens the closed-loop runs and `--open-seconds` the open-loop ones, for a quick check.

The server under test runs in its own process (`python -m bot run --mode http`); this process plays Slack's Web API
and builds the load: wrk (closed loop, pre-signed requests) and `bench.open_loop` (fixed rate, its own process).
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cpu_report, gate_waits, instructions, metrics, reminders, report, runs, seed, wrk
from bench.servers import POLICY, drop_databases, fresh_database, shipmate
from bench.slack_side import SlackSide

PARTS = ("closed", "open", "reminders", "metrics", "gates", "instructions")


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
        out["end to end"] = await metrics.end_to_end(side, server.url, args.seconds)
    print(f"  metrics {backend} end to end: {json.dumps(out['end to end'])}", flush=True)
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
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per closed-loop scenario")
    parser.add_argument("--open-seconds", type=float, default=30.0, help="seconds of the open loop and the flood")
    parser.add_argument("--rate", type=float, default=100.0, help="commands/s of the open loop")
    parser.add_argument("--small", type=int, default=200, help="releases in the near-empty database")
    parser.add_argument("--releases", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--only", default=",".join(PARTS), help="comma list of: " + ", ".join(PARTS))
    parser.add_argument("--jobs", type=int, default=10_000, help="due reminders in the claims benchmark")
    parser.add_argument("--job-batch", type=int, default=None, help="claim batch size (default: the scheduler's)")
    parser.add_argument("--metric-runs", type=int, default=200, help="sequential calls per delivery-metrics variant")
    parser.add_argument("--waiters", type=int, default=1000, help="concurrent waiting gate checks")
    parser.add_argument("--out", default="bench/results.json")
    parser.add_argument("--markdown", default="bench/RESULTS.md")
    parser.add_argument("--note", default="", help="a line shown at the top of RESULTS.md (e.g. why a run is short)")
    args = parser.parse_args()
    wrk.ensure_wrk()
    if "instructions" in args.only.split(","):
        instructions.ensure_valgrind()  # before the run, not after the parts before it
    results: dict[str, Any] = {"machine": machine(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    results["settings"] = {"seconds": args.seconds, "open_seconds": args.open_seconds, "rate": args.rate}
    results["note"] = args.note
    partial = set(args.only.split(",")) != set(PARTS) or set(args.backends.split(",")) != {"sqlite", "postgresql"}
    earlier = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    if partial and earlier:  # a partial run updates its figures in the last full run's file
        results = {**earlier, "machine": results["machine"], "note": args.note or earlier.get("note", "")}
        results[f"when {args.backends} {args.only}"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if earlier and ("closed" in args.only.split(",")):  # the CPU ratios this run replaces, shown beside the new ones
        when = max(v for k, v in earlier.items() if k == "when" or k.startswith("when "))
        results["last_run"] = {"when": when, "cpu_ratios": cpu_report.cpu_ratios(earlier)}
    started = time.perf_counter()
    asyncio.run(measure(args, results))
    took = time.perf_counter() - started
    results[f"took_s {args.backends} {args.only}" if partial else "took_s"] = took  # the header quotes a full run's
    Path(args.out).write_text(json.dumps(results, indent=1))
    Path(args.markdown).write_text(report.markdown(results))
    print(f"saved {args.out} and {args.markdown} ({took / 60:.1f} min)")


async def measure(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Run the selected benchmarks per backend, adding each backend's figures to `results`."""
    side = SlackSide()
    await side.start()
    only = set(args.only.split(","))
    try:
        for backend in args.backends.split(","):
            with tempfile.TemporaryDirectory(prefix="shipmate-bench-") as workdir:
                print(f"== {backend}", flush=True)
                figures = await runs.run_backend(backend, args, side, Path(workdir))
                if "reminders" in only:
                    figures["reminders"] = await run_reminders(backend, args, Path(workdir))
                if "metrics" in only:
                    figures["metrics"] = await run_metrics(backend, args, side, Path(workdir))
                if "gates" in only:
                    figures["gates"] = await gate_waits.run(backend, args.waiters, side, Path(workdir))
                if "instructions" in only:
                    figures["instructions"] = await instructions.measure(backend, side, Path(workdir))
                results[backend] = {**results.get(backend, {}), **figures}
    finally:
        await side.close()
        if "postgresql" in args.backends:
            await drop_databases()


if __name__ == "__main__":
    main()
