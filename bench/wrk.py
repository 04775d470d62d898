"""Closed-loop load with wrk (Debian package `wrk`): requests signed by the bench just before each run, replayed
by `bench/wrk_script.lua`, 20 connections. wrk counts what Slack would see: the HTTP answer (the ack), which now
carries the person's answer; the script tells answers, "Working on it…" acks and "busy" acks apart."""

import asyncio
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.slack_side import SECRET

SCRIPT = Path(__file__).with_name("wrk_script.lua")
THREADS = 2  # the machine has 2 cores; wrk's threads are cheap C event loops


def ensure_wrk() -> str:
    """The wrk binary; installs the Debian package when missing and this process may (root), else says how."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
        if found:
            return found
        subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("the benchmark needs wrk: install the Debian package (`sudo apt-get install wrk`)")
    return found


def sign(body: bytes, timestamp: str) -> str:
    digest = hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return "v0=" + digest


def write_requests(path: Path, bodies: Iterable[bytes]) -> int:
    """Sign every body now (Slack's 5-minute window covers a run) and write wrk's request file; returns the count."""
    timestamp = str(int(time.time()))
    count = 0
    with path.open("wb") as out:
        for body in bodies:
            if b"\t" in body or b"\n" in body:
                raise ValueError("wrk's request file needs url-encoded or compact JSON bodies")
            out.write(sign(body, timestamp).encode() + b"\t" + timestamp.encode() + b"\t" + body + b"\n")
            count += 1
    return count


async def run(
    url: str,
    requests: Path,
    *,
    seconds: float,
    connections: int = 20,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, Any]:
    """One wrk run against `url`; the Lua script's JSON summary plus req/s."""
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(requests),
        "BENCH_THREADS": str(THREADS),
        "BENCH_CONTENT_TYPE": content_type,
    }
    argv = [ensure_wrk(), "-t", str(THREADS), "-c", str(connections), "-d", f"{seconds:.0f}s", "--timeout", "10s"]
    process = await asyncio.create_subprocess_exec(
        *argv, "-s", str(SCRIPT), url, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    line = next((x for x in out.decode().splitlines() if x.startswith("{")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err.decode()[-2000:]} {out.decode()[-2000:]}")
    summary: dict[str, Any] = json.loads(line)
    summary["rps"] = summary["requests"] / (summary["duration_us"] / 1e6)
    summary["answered_rps"] = summary["answered"] / (summary["duration_us"] / 1e6)
    return summary
