"""One backend's benchmark: closed loop side by side (wrk, 20 connections: the bare-Bolt reference, list, show,
propose, approve, App Home) near-empty and at 100k releases; at 100k, the open loop (a fixed rate of mixed
commands) and the flood (3× the measured capacity), with the checks that nothing was lost or doubled."""

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench import checks, scenarios, seed, wrk
from bench.scenarios import Request
from bench.servers import (
    Server,
    cpu_seconds,
    floor_database,
    free_port,
    make_database,
    peak_rss_mb,
    reference,
    rss_mb,
    shipmate,
)
from bench.slack_side import SlackSide

CLOSED = ("list", "list service", "show", "history")
TARGETS = 8000  # seeded releases to approve during the open loop and the flood (disjoint ranges)
MIX_TARGETS = range(0, 400)
OPEN_TARGETS = range(400, 1000)
FLOOD_TARGETS = range(1000, TARGETS)


async def closed(
    server: Server,
    requests: list[Request],
    seconds: float,
    workdir: Path,
    *,
    content_type: str | None = None,
    settle: Callable[[], Awaitable[Any]] | None = None,
) -> dict[str, Any]:
    """One wrk run, with the server's CPU time per request (what the ratios are made of). `settle`: what to wait
    for before the CPU is read (a write's outbox delivered), so that a run pays for its own messages and the next
    run for none of them."""
    path = workdir / "requests.tsv"
    wrk.write_requests(path, [r.body for r in requests])
    kind = content_type or "application/x-www-form-urlencoded"
    before = cpu_seconds(server.process.pid)
    result = await wrk.run(server.url, path, seconds=seconds, content_type=kind)
    if settle is not None:
        await settle()
    result["cpu_ms"] = (cpu_seconds(server.process.pid) - before) * 1000 / max(1, result["requests"])
    print(f"    {requests[0].kind}: {json.dumps({k: round(v, 2) for k, v in result.items()})}", flush=True)
    return result


REFERENCE_SECONDS = 3.0  # the reference's runs beside each scenario


class Beside:
    """The reference measured right before and right after each scenario: on a shared host the CPU's speed drifts
    by half within minutes, so a scenario's ratio is taken against the reference measured beside it (the mean of
    the runs before and after), not against one run minutes earlier."""

    def __init__(self, server: Server, side: SlackSide, respond: str, workdir: Path) -> None:
        self.server, self.side, self.respond, self.workdir = server, side, respond, workdir
        self.last: float | None = None  # the latest reference run's CPU ms per request
        self.runs: list[dict[str, Any]] = []

    async def _reference(self) -> float:
        requests = scenarios.reads("list", self.respond)
        self.runs.append(await closed(self.server, requests, REFERENCE_SECONDS, self.workdir))
        self.last = float(self.runs[-1]["cpu_ms"])
        return self.last

    async def run(self, scenario: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        before = self.last if self.last is not None else await self._reference()
        result = await scenario
        result["reference_cpu_ms"] = (before + await self._reference()) / 2
        return result

    async def delivering(self, kind: str, result: dict[str, Any], calls_before: int) -> dict[str, Any]:
        """A `kind` write's run (`result`, from `calls_before` Slack calls on), with the reference measured right
        after it twice, sending as many Slack messages per request as the write did: once after a bare ack (what the
        write costs beyond its messages), and once after the floor of the write's transaction (`bench/floor.py`:
        what any implementation owes its database and Slack)."""
        per_request = (self.side.messages() - calls_before) / max(1, result["requests"])
        result["slack_calls_per_request"] = per_request
        for name, requests in (
            ("reference_delivering", scenarios.deliveries(per_request, self.respond)),
            ("floor", scenarios.floors(kind, per_request, self.respond)),
        ):
            sent_before = self.side.messages()
            run = await closed(self.server, requests, REFERENCE_SECONDS, self.workdir, settle=self.side.quiet)
            result[f"{name}_cpu_ms"] = run["cpu_ms"]
            result[f"{name}_calls_per_request"] = (self.side.messages() - sent_before) / max(1, run["requests"])
        return result


async def side_by_side(
    server: Server, beside: Beside, backend: str, target: str, prefix: str, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    """Reads, propose and approve (of the releases the propose run made), each for `args.seconds`, each beside the
    reference."""
    respond = beside.respond
    out: dict[str, Any] = {}
    await closed(server, scenarios.reads("list", respond), 2, workdir)  # warm-up, not reported
    for kind in CLOSED:
        out[kind] = await beside.run(closed(server, scenarios.reads(kind, respond), args.seconds, workdir))
    delivered = partial(checks.drained, backend, target)  # a write's cards and threads sent
    proposals = scenarios.proposals(prefix, respond, 60_000)
    calls = beside.side.messages()
    out["propose"] = await beside.run(closed(server, proposals, args.seconds, workdir, settle=delivered))
    await beside.delivering("propose", out["propose"], calls)
    rows = await checks.query(
        backend, target, f"SELECT service || '@' || version FROM releases WHERE service LIKE '{prefix}%' ORDER BY id"
    )
    refs = [str(row[0]) for row in rows]
    approvals = scenarios.approvals(refs, respond)
    calls = beside.side.messages()
    out["approve"] = await beside.run(closed(server, approvals, args.seconds, workdir, settle=delivered))
    await beside.delivering("approve", out["approve"], calls)
    homes = scenarios.homes()
    out["home"] = await beside.run(closed(server, homes, args.seconds, workdir, content_type="application/json"))
    return out


async def open_loop(
    requests: list[Request], url: str, rate: float, seconds: float, workdir: Path, port: int
) -> dict[str, Any]:
    """`bench.open_loop` in its own process: `rate` requests/s for `seconds`, from the pre-signed `requests`."""
    lines = workdir / "open.jsonl"
    timestamp = str(int(__import__("time").time()))
    with lines.open("w", encoding="utf-8") as out:
        for r in requests:
            kind = "application/json" if r.kind == "home" else "application/x-www-form-urlencoded"
            line = {"kind": r.kind, "key": r.key, "reply": r.reply, "body": r.body.decode(), "content_type": kind}
            line.update(timestamp=timestamp, signature=wrk.sign(r.body, timestamp))
            out.write(json.dumps(line) + "\n")
    plan = workdir / "plan.json"
    plan.write_text(json.dumps({"url": url, "rate": rate, "seconds": seconds, "port": port, "requests": str(lines)}))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.open_loop", str(plan), stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await process.communicate()
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


async def at_scale(
    server: Server, side: SlackSide, backend: str, target: str, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    """Capacity of the mixed load (wrk), then the open loop at `args.rate`, then the flood at 3× the capacity."""
    out: dict[str, Any] = {}
    port = free_port()
    respond = f"http://127.0.0.1:{port}/respond"  # the open-loop process receives late answers itself
    targets = [seed.approval_target(k) for k in range(TARGETS)]
    on_side = f"http://127.0.0.1:{side.port}/respond"
    capacity_mix = list(scenarios.mixed("wm", [targets[k] for k in MIX_TARGETS], on_side, 8000))
    out["mix capacity"] = capacity = await closed(server, capacity_mix, args.seconds, workdir)

    count = int(args.rate * args.open_seconds)
    steady = list(scenarios.mixed("wo", [targets[k] for k in OPEN_TARGETS], respond, count))
    await checks.drained(backend, target)
    print(f"    open loop: {args.rate:.0f}/s for {args.open_seconds:.0f} s", flush=True)
    before = cpu_seconds(server.process.pid)
    out["open"] = await open_loop(steady, server.url, args.rate, args.open_seconds, workdir, port)
    out["open"]["cpu_ms"] = (cpu_seconds(server.process.pid) - before) * 1000 / max(1, out["open"]["sent"])
    out["open"].pop("writes")
    print(f"    open: {json.dumps(out['open'])}", flush=True)

    rate = 3 * capacity["answered_rps"]
    flood_targets = [targets[k] for k in FLOOD_TARGETS]
    count = min(int(rate * args.open_seconds), 10 * len(flood_targets))
    flood = list(scenarios.mixed("wf", flood_targets, respond, count))
    mark = await checks.outbox_mark(backend, target)
    await checks.drained(backend, target)
    sent_before = side.calls.get("chat.postMessage", 0) + side.calls.get("chat.update", 0)
    cards_before = side.cards.copy()  # the fake Slack serves every backend's run: count this flood's cards only
    rss_before = rss_mb(server.process.pid)
    print(f"    flood: {rate:.0f}/s for {args.open_seconds:.0f} s", flush=True)
    before = cpu_seconds(server.process.pid)
    result = await open_loop(flood, server.url, rate, args.open_seconds, workdir, port)
    result["cpu_ms"] = (cpu_seconds(server.process.pid) - before) * 1000 / max(1, result["sent"])
    result.update(rate=rate, rss_before_mb=rss_before, rss_after_mb=rss_mb(server.process.pid))
    result["rss_peak_mb"] = peak_rss_mb(server.process.pid)
    outbox = await checks.drained(backend, target, after_id=mark)
    sent = side.calls.get("chat.postMessage", 0) + side.calls.get("chat.update", 0) - sent_before
    cards = side.cards - cards_before
    result["checks"] = await checks.verify_writes(backend, target, cards, result.pop("writes"), "wf")
    result["checks"].update(
        outbox_sent=outbox.get("sent", 0),
        outbox_pending=outbox.get("pending", 0),
        outbox_dead=outbox.get("dead", 0),
        slack_calls=sent,
        slack_calls_match_outbox=sent == outbox.get("sent", 0),
    )
    out["flood"] = result
    print(f"    flood: {json.dumps(result)}", flush=True)
    return out


async def run_backend(backend: str, args: argparse.Namespace, side: SlackSide, workdir: Path) -> dict[str, Any]:
    only = set(args.only.split(","))
    if "closed" not in only:
        return await _run_backend(backend, args, side, workdir, None)
    floor = await floor_database(backend, workdir)  # where it runs the floor of a write, beside each one
    async with reference(side, workdir, floor) as server:  # up for the whole closed loop: beside each scenario
        respond = f"http://127.0.0.1:{side.port}/respond"
        await closed(server, scenarios.reads("list", respond), 2, workdir)  # warm-up
        beside = Beside(server, side, respond, workdir)
        out = await _run_backend(backend, args, side, workdir, beside)
    out["reference"] = _pooled(beside.runs)
    return out


def _pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The reference's runs beside the scenarios, as one: counts and time added, the worst latency kept, the rest
    (CPU per request, latency percentiles) averaged weighted by requests."""
    requests = sum(run["requests"] for run in runs)
    pooled: dict[str, Any] = {key: sum(run[key] for run in runs) for key in runs[0] if key in SUMMED}
    for key in runs[0]:
        if key not in SUMMED:
            pooled[key] = sum(run[key] * run["requests"] for run in runs) / max(1, requests)
    pooled["max_ms"] = max(run["max_ms"] for run in runs)
    pooled["rps"] = pooled["answered_rps"] = requests / max(1e-9, pooled["duration_us"] / 1e6)
    return pooled


SUMMED = frozenset({"requests", "duration_us", "answered", "working", "busy", "non_200", "connect_errors",
                    "read_errors", "write_errors", "timeouts"})  # fmt: skip


async def _run_backend(
    backend: str, args: argparse.Namespace, side: SlackSide, workdir: Path, beside: Beside | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    only = set(args.only.split(","))
    if beside is not None:
        small_url, seed_small = await make_database(backend, workdir, "small")
        await seed_small(args.small, 10)
        async with shipmate(side, small_url, workdir) as server:
            out["start_s"] = server.started_in
            await asyncio.sleep(2)
            out["idle_rss_mb"] = rss_mb(server.process.pid)
            target = target_of(backend, small_url)
            out["small"] = await side_by_side(server, beside, backend, target, "wps", args, workdir)
            out["rss_after_load_mb"] = rss_mb(server.process.pid)
    if not ({"closed", "open"} & only):
        return out
    big_url, seed_big = await make_database(backend, workdir, "big")
    started = asyncio.get_running_loop().time()
    await seed_big(args.releases, args.events // args.releases)
    target = target_of(backend, big_url)
    if backend == "sqlite":
        await asyncio.to_thread(seed.seed_targets_sqlite, target, TARGETS)
    else:
        await seed.seed_targets_postgres(target, TARGETS)
    out["seed_s"] = asyncio.get_running_loop().time() - started
    async with shipmate(side, big_url, workdir) as server:
        out["start_big_s"] = server.started_in
        if beside is not None:
            out["big"] = await side_by_side(server, beside, backend, target, "wpb", args, workdir)
        if "open" in only:
            out.update(await at_scale(server, side, backend, target, args, workdir))
    return out


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def target_of(backend: str, url: str) -> str:
    """What `bench.checks` queries: the SQLite file's path, or PostgreSQL's DSN."""
    return url.split("///", 1)[1] if backend == "sqlite" else dsn(url)
