"""Where a closed-loop scenario spends the server's CPU: `python -m bench.profile --backend sqlite --kind show`.

Starts the real server on a fresh near-empty database (as `python -m bench` does), loads it with wrk for
`--seconds` while py-spy (`pip install py-spy`, not a dependency) samples it with `--gil` (only the thread that
holds the GIL: aiosqlite's idle worker threads do not count), and prints the server CPU per request, then the
functions that hold the most samples, inclusive and own. `--raw FILE` keeps py-spy's collapsed stacks; `--text
"help"` sends one command text instead of the kind's requests; `--top 0` only measures.
"""

import argparse
import asyncio
import collections
import shutil
import sys
import tempfile
from pathlib import Path

from bench import checks, runs, scenarios, seed, wrk
from bench.servers import Server, drop_databases, make_database, shipmate
from bench.slack_side import SlackSide

WARM_UP_RELEASES = 300  # approved in the warm-up (two approvals each: more than its two seconds take)
KINDS = ("list", "list service", "show", "history", "home", "propose", "approve")


def requests_of(kind: str, respond: str, refs: list[str], text: str) -> list[scenarios.Request]:
    if text:
        return [scenarios.ask("text", text, respond, f"t{i}") for i in range(400)]
    if kind == "home":
        return scenarios.homes()
    if kind == "propose":
        return scenarios.proposals("wpx", respond, 60_000)
    if kind == "approve":
        return scenarios.approvals(refs, respond)
    return scenarios.reads(kind, respond)


def summarise(raw: Path, top: int) -> None:
    """py-spy's collapsed stacks (`frame;frame;… count`) → the top frames by inclusive and by own samples."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame.split(" (")[0] + " " + frame.rsplit("/", 1)[-1].rstrip(")") for frame in stack.split(";")]
        n = int(count)
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    print(f"{total} samples holding the GIL")
    for title, counter in (("inclusive", inclusive), ("own", own)):
        print(f"-- {title}")
        for frame, n in counter.most_common(top):
            print(f"{100 * n / max(1, total):5.1f}%  {frame}")


async def fresh_releases(args: argparse.Namespace, url: str, respond: str, workdir: Path, server: Server) -> list[str]:
    """Proposed for twice the profile's time, then delivered: approving them changes something (seeded releases
    would be approved once, in the warm-up, and then only answer "You already approved")."""
    await runs.closed(server, scenarios.proposals("wpf", respond, 60_000), 2 * args.seconds, workdir)
    target = runs.target_of(args.backend, url)
    await checks.drained(args.backend, target)
    sql = "SELECT service || '@' || version FROM releases WHERE service LIKE 'wpf%' ORDER BY id"
    return [str(row[0]) for row in await checks.query(args.backend, target, sql)]


async def profile(args: argparse.Namespace, workdir: Path) -> None:
    side = SlackSide()
    await side.start()
    try:
        url, seeded = await make_database(args.backend, workdir, "profile")
        await seeded(args.releases, 10)
        async with shipmate(side, url, workdir) as server:
            respond = f"http://127.0.0.1:{side.port}/respond"
            refs = [f"svc{n % seed.SERVICES}@1.{n // seed.SERVICES}.0" for n in range(0, args.releases, 6)]
            warm = refs
            if args.kind == "approve" and not args.text:  # as `python -m bench` does: the releases a propose run made
                refs = await fresh_releases(args, url, respond, workdir, server)
                # The warm-up approves releases of its own: approved again, the measured run's would be refused.
                warm, refs = refs[:WARM_UP_RELEASES], refs[WARM_UP_RELEASES:]
            requests = requests_of(args.kind, respond, refs, args.text)
            kind = "application/json" if args.kind == "home" else None
            warm_up = requests_of(args.kind, respond, warm, args.text)
            await runs.closed(server, warm_up, 2, workdir, content_type=kind)
            raw = Path(args.raw) if args.raw else workdir / "profile.txt"
            spy = await asyncio.create_subprocess_exec(
                shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")),
                *("record", "--gil", "--nonblocking", "--format", "raw", "--rate", "500"),
                *("--duration", str(int(args.seconds)), "--output", str(raw), "--pid", str(server.process.pid)),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await runs.closed(server, requests, args.seconds, workdir, content_type=kind)
            await spy.wait()
            if args.top:
                summarise(raw, args.top)
    finally:
        await side.close()
        if args.backend == "postgresql":
            await drop_databases()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--kind", choices=KINDS, default="list")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--releases", type=int, default=200)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--raw", default="", help="keep py-spy's collapsed stacks in this file")
    parser.add_argument("--text", default="", help="send this `/release` text instead of the kind's requests")
    args = parser.parse_args()
    wrk.ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="shipmate-profile-") as workdir:
        asyncio.run(profile(args, Path(workdir)))


if __name__ == "__main__":
    main()
