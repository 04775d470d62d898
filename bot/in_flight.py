"""Listener work a process has accepted and not finished. Bolt acks Slack first and lets the listener run on, so
shutdown waits for this work (and nothing else) before the database closes."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    @contextmanager
    def tracking(self) -> Iterator[None]:
        """Count the current task as in flight until the block ends."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for the work in flight now to finish (bound it with `asyncio.timeout`)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))
