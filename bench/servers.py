"""The processes and databases a benchmark runs against: the server under test (`python -m bot run`), the bare
Bolt reference, fresh migrated databases (SQLite files, throwaway PostgreSQL databases) and their seeding."""

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench import seed
from bench.slack_side import SECRET, SlackSide

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


def shipmate(
    side: SlackSide, database_url: str, workdir: Path, *, policy_text: str = POLICY, **extra_env: str
) -> Server:
    """`shipmate run` against the fake Slack, with the bench's policy (or another) and any further environment."""
    policy = workdir / "shipmate.toml"
    policy.write_text(policy_text)
    env = {
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": side.api_url,
        "DATABASE_URL": database_url,
        "SHIPMATE_POLICY": str(policy),
        **extra_env,
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
    dsn = await _created(name)
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    await asyncio.to_thread(upgrade, url)
    return url, dsn


async def floor_database(backend: str, workdir: Path) -> str:
    """An empty database for the reference's floor of a write (`bench/floor.py` makes its tables): a SQLite file's
    path, or a PostgreSQL DSN (dropped with the others at the end)."""
    if backend == "sqlite":
        return str(workdir / "floor.db")
    return await _created("floor")


async def _created(name: str) -> str:
    """A new, empty PostgreSQL database of this run (dropped by `drop_databases`): its asyncpg DSN."""
    database = f"shipmate_bench_{name}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{database}"')
    CREATED.append(database)
    await admin.close()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + database


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


CREATED: list[str] = []  # the PostgreSQL databases this run made (another bench may share the server)


async def drop_databases() -> None:
    """Drop the databases this run created, and only those."""
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        while CREATED:
            await admin.execute(f'DROP DATABASE IF EXISTS "{CREATED.pop()}" WITH (FORCE)')
    finally:
        await admin.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reference(side: SlackSide, workdir: Path, database: str | None = None) -> Server:
    """The bare Bolt reference; with `database` (a PostgreSQL DSN or a SQLite file's path) it can also run the floor
    of a write there (`bench/floor.py`)."""
    env = {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": side.api_url}
    if database is not None:
        env["REFERENCE_DATABASE_URL"] = database
    return Server([sys.executable, "-m", "bench.reference"], env, workdir / "reference.log")
