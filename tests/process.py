"""The real `shipmate run` as a child process, for restart, SIGKILL and SIGTERM tests."""

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.harness import SECRET

# Ports for processes a test starts, below the kernel's ephemeral range (32768 and up, where every bind to port 0
# lands), one block per xdist worker: a port picked here and then bound by a child process cannot meanwhile be
# handed to another worker's child, whose `/healthz` would answer for this one (and refuse its signatures).
PORTS = range(20_000, 32_000)


def free_port() -> int:
    """A port nothing listens on, in this xdist worker's own block."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    size = len(PORTS) // max(1, workers)
    first = PORTS.start + size * (worker % max(1, workers))
    for _ in range(200):
        port = random.randrange(first, first + size)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {first}..{first + size}")


class AppProcess:
    def __init__(self, *, database_url: str, slack_url: str, policy: Path, extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SHIPMATE_", "DATABASE_"))},
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack_url,
            "DATABASE_URL": database_url,
            "SHIPMATE_POLICY": str(policy),
            "SHIPMATE_POLL_INTERVAL": "0.1",
            "SHIPMATE_SLACK_TIMEOUT": "1",
            "SHIPMATE_CLAIM_LEASE": "3",
            "SHIPMATE_MAX_LOOP_LAG": "5",
            "SHIPMATE_PIPELINE_TIMEOUT": "1",  # at most half the lease
            **(extra_env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--mode", "http", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        async with aiohttp.ClientSession() as session:
            for _ in range(300):  # polls 0.1 s apart: at least 30 s
                if self.process.poll() is not None:
                    output = self.process.stdout.read().decode() if self.process.stdout else ""
                    raise AssertionError(f"shipmate exited with {self.process.returncode}:\n{output}")
                try:
                    async with session.get(self.base_url + "/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("shipmate did not start listening")

    def kill(self, sig: int = signal.SIGKILL) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)

    def output(self) -> str:
        assert self.process is not None
        assert self.process.stdout is not None
        return self.process.stdout.read().decode()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
