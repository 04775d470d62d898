"""Instructions per request, the server's and the bare Bolt reference's, counted by callgrind: a measure that the
host's speed does not move. `python -m bench.instructions --backends sqlite` (valgrind is a Debian package), or
the `instructions` part of `python -m bench` (a table in RESULTS.md).

The closed loop's ratios (`python -m bench`) are CPU time, and on a shared host the CPU's speed drifts by half
within minutes: a change of a tenth cannot be told from the drift there. Callgrind counts the instructions a
process executes: the same code on the same requests gives the same count whatever the host is doing (0.05 %
apart in process; within 1–2 % between two runs of the server, whose batches and idle sweeps follow the clock).
It does not count the kernel's work (system calls, the network, the database's pages written) nor the time an
instruction waits on memory, so it says what the code does, not everything the closed loop pays.

Both servers run under callgrind from the start, uninstrumented until they answer (so they start in seconds), and
are counted per scenario: warm-up requests first, then the counters zeroed, then `--requests` requests sent
`--concurrency` at a time (signed as Slack signs them), then, for a write, its Slack messages delivered, then the
counters read. The server runs about fifty times slower under callgrind, so its ack budget and loop-lag limit are
raised to their most (every answer still comes in the ack; the counts say so) and its idle sweeps made rarer. The
outbox's batches stay large (about 33 messages a claim under callgrind, about 48 in the closed loop), so a
write's share of its claims and marks is about what it is without callgrind. App Home's count moves the most
between runs: what it keeps, it keeps for a time. The writes are followed by the reference sending as many Slack
messages per request as the write did, as in `python -m bench`'s second table.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp

from bench import checks, cpu_report, scenarios
from bench.runs import target_of
from bench.scenarios import Request
from bench.servers import Server, drop_databases, make_database, reference, shipmate
from bench.slack_side import SlackSide, signed

CALLGRIND = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null"]
WARM_UP = 20  # requests of a scenario before its counters are zeroed: statements planned, templates compiled
SEEDED = 200  # releases in the database (10 audit events each)
SLOW = {  # the server under callgrind: answers in the ack however slow, no "busy" for a late loop, rare idle sweeps
    "SHIPMATE_ACK_BUDGET": "2.5",
    "SHIPMATE_MAX_LOOP_LAG": "120",
    "SHIPMATE_POLL_INTERVAL": "5",
}
THREAD_LINE = re.compile(r"^\s*Th\s+\d+\s+([\d,]+)\s*$", re.MULTILINE)


def counted(server: Server) -> Server:
    server.argv = [*CALLGRIND, *server.argv]
    return server


async def _control(server: Server, *args: str) -> str:
    done = await asyncio.to_thread(
        subprocess.run, ["callgrind_control", *args, str(server.process.pid)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"callgrind_control {' '.join(args)}: {done.stderr or done.stdout}")
    return done.stdout


async def instructions(server: Server) -> int:
    """Instructions the process executed since its counters were last zeroed, all its threads."""
    shown = await _control(server, "-e", "Ir")
    counts = THREAD_LINE.findall(shown)
    if not counts:
        raise RuntimeError(f"no counts in callgrind_control's answer: {shown!r}")
    return sum(int(count.replace(",", "")) for count in counts)


class Driver:
    """Sends requests to a server, `concurrency` at a time, and sorts the answers."""

    def __init__(self, http: aiohttp.ClientSession, concurrency: int) -> None:
        self.http, self.concurrency = http, concurrency

    async def send(self, server: Server, requests: list[Request], content_type: str | None) -> Counter[str]:
        answers: Counter[str] = Counter()
        queue = iter(requests)

        async def worker() -> None:
            for request in queue:
                headers = signed(request.body, content_type or "application/x-www-form-urlencoded")
                async with self.http.post(server.url, data=request.body, headers=headers) as response:
                    text = await response.text()
                answers[_answer(response.status, text)] += 1

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return answers


def _answer(status: int, text: str) -> str:
    if status != 200:
        return f"http {status}"
    if "Working on it" in text:
        return "late"  # past the ack budget: answered on response_url, another path than the closed loop's
    if "busy" in text:
        return "busy"
    return "answered"


async def scenario(
    server: Server,
    driver: Driver,
    requests: list[Request],
    *,
    content_type: str | None = None,
    settle: Callable[[], Awaitable[Any]] | None = None,
) -> dict[str, Any]:
    """Instructions per request of `requests` after `WARM_UP` of them, with what `settle` waits for (a write's
    messages delivered) counted in."""
    await driver.send(server, requests[:WARM_UP], content_type)
    if settle is not None:
        await settle()
    await _control(server, "-z")
    measured = requests[WARM_UP:]
    answers = await driver.send(server, measured, content_type)
    if settle is not None:
        await settle()
    count = await instructions(server)
    result = {"requests": len(measured), "instructions": count / len(measured), "answers": dict(answers)}
    print(f"    {requests[0].kind}: {json.dumps(result)}", flush=True)
    return result


KINDS = ("list", "show", "propose", "approve", "home")


def ensure_valgrind() -> None:
    """valgrind (callgrind and callgrind_control): installs the Debian package when missing and this process may."""
    if shutil.which("callgrind_control"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "valgrind"], check=False, capture_output=True)
    if not shutil.which("callgrind_control"):
        raise SystemExit(
            "counting instructions needs valgrind: install the Debian package (`apt-get install valgrind`)"
        )


async def measure(
    backend: str,
    side: SlackSide,
    workdir: Path,
    *,
    requests: int = 200,
    concurrency: int = 4,
    kinds: Iterable[str] = KINDS,
) -> dict[str, Any]:
    """Scenario → its counts (`instructions` a request, `answers`; a write also its `messages_per_request` and
    the `reference_delivering` them), with the `reference` itself."""
    ensure_valgrind()
    url, seed = await make_database(backend, workdir, "instructions")
    await seed(SEEDED, 10)
    target = target_of(backend, url)
    respond = f"http://127.0.0.1:{side.port}/respond"
    n, only = WARM_UP + requests, set(kinds)
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http, counted(reference(side, workdir)) as bare:
        driver = Driver(http, concurrency)
        await _control(bare, "-i", "on")
        out["reference"] = await scenario(bare, driver, scenarios.reads("list", respond, n))
        async with counted(shipmate(side, url, workdir, **SLOW)) as server:
            await _control(server, "-i", "on")
            for kind in scenarios.READS:
                if kind in only:
                    out[kind] = await scenario(server, driver, scenarios.reads(kind, respond, n))
            delivered = _delivered(side, backend, target)
            writes = {"propose": scenarios.proposals("wpi", respond, n)}
            if "approve" in only:  # its releases: the proposals'
                writes["approve"] = scenarios.approvals([r.key for r in writes["propose"]], respond)[: 2 * n]
            for kind, sent in writes.items():
                calls = side.messages()
                result = await scenario(server, driver, sent, settle=delivered)
                per_request = (side.messages() - calls) / len(sent)
                deliveries = scenarios.deliveries(per_request, respond, n)
                result["reference_delivering"] = await scenario(bare, driver, deliveries, settle=delivered)
                result["messages_per_request"] = per_request
                if kind in only:
                    out[kind] = result
            if "home" in only:
                out["home"] = await scenario(server, driver, scenarios.homes(n), content_type="application/json")
    return out


def _delivered(side: SlackSide, backend: str, target: str) -> Callable[[], Awaitable[None]]:
    async def settle() -> None:
        """Every outbox row sent, and no Slack message for a second (the reference's go out after its acks)."""
        await checks.drained(backend, target)
        await side.quiet(1.0)

    return settle


async def main_async(args: argparse.Namespace) -> None:
    side = SlackSide()
    await side.start()
    try:
        for backend in args.backends:
            with tempfile.TemporaryDirectory(prefix="shipmate-instructions-") as workdir:
                print(f"{backend}:", flush=True)
                try:
                    out = await measure(
                        backend,
                        side,
                        Path(workdir),
                        requests=args.requests,
                        concurrency=args.concurrency,
                        kinds=args.only,
                    )
                finally:
                    if backend != "sqlite":
                        await drop_databases()
                print("\n".join(cpu_report.instruction_lines(out)), flush=True)
    finally:
        await side.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("--backends", default="sqlite,postgresql", type=lambda s: s.split(","))
    parser.add_argument("--only", default=",".join(KINDS), type=lambda s: s.split(","))
    parser.add_argument("--requests", type=int, default=200, help="counted requests per scenario")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight at once")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
