"""Listener work a process has accepted and not finished, up to a cap. A request past the cap is told to try again
(it changes nothing), so a flood costs bounded memory; shutdown waits for this work before the database closes."""

import asyncio
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class InFlight:
    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = capacity
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def full(self) -> bool:
        """No room for another request's work: answer it "busy" instead of accepting it."""
        return self.capacity is not None and len(self._tasks) >= self.capacity

    def spawn(self, work: Coroutine[Any, Any, T], *, name: str | None = None) -> "asyncio.Task[T]":
        """Run `work` as its own task, counted from this moment (not from its first step) until it ends."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

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
