"""Listener work a process has accepted and not finished, up to a cap. A request past the cap, or arriving while
the event loop runs late, is told to try again (it changes nothing): a flood costs bounded memory and the acks
stay quick. Shutdown waits for this work before the database closes."""

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

PROBE_EVERY = 0.02  # seconds between event-loop lag probes
MAX_LAG = 0.25  # a loop this late on average is saturated: new work would only wait behind the work accepted
SMOOTHING = 0.2  # weight of the newest probe: one stall (a GC pause, a slow host) does not refuse anybody


class InFlight:
    def __init__(self, capacity: int | None = None, *, max_lag: float = MAX_LAG, share: int | None = None) -> None:
        self.capacity = capacity
        self.max_lag = max_lag
        # Many workspaces: the most one workspace's work may take, so that its flood leaves room for the others.
        self.share = share
        self._by_key: dict[str, int] = {}
        self.lag = 0.0  # how late the loop runs the probes, seconds, smoothed
        self._tasks: set[asyncio.Task[Any]] = set()
        self._probe: asyncio.Task[None] | None = None

    @property
    def full(self) -> bool:
        """No room for another request's work: answer it "busy" instead of accepting it."""
        if self.capacity is None:
            return False
        return len(self._tasks) >= self.capacity or self.lag > self.max_lag

    def full_for(self, key: str | None) -> bool:
        """No room for this workspace's request: the cap is reached, or the workspace holds its whole share."""
        if self.full:
            return True
        return self.share is not None and key is not None and self._by_key.get(key, 0) >= self.share

    @property
    def crowded(self) -> bool:
        """Half the cap or more is taken: a flood is likely, new work should not wait long for anything."""
        return self.capacity is not None and len(self._tasks) * 2 >= self.capacity

    def watch(self) -> None:
        """Start probing the event loop's lag (CPU saturation shows there before anywhere else)."""
        if self._probe is None:
            self._probe = asyncio.create_task(self._measure(), name="event-loop-lag")

    async def unwatch(self) -> None:
        await stop(self._probe)
        self._probe = None

    async def _measure(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + PROBE_EVERY
            await asyncio.sleep(PROBE_EVERY)
            late = loop.time() - expected
            self.lag += SMOOTHING * (max(0.0, late) - self.lag)

    def spawn(
        self, work: Coroutine[Any, Any, T], *, name: str | None = None, key: str | None = None
    ) -> "asyncio.Task[T]":
        """Run `work` as its own task, counted from this moment (not from its first step) until it ends; `key`
        (a workspace) counts it against that workspace's share too."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if key is not None:
            self._by_key[key] = self._by_key.get(key, 0) + 1
            task.add_done_callback(lambda _task: self._release(key))
        return task

    def _release(self, key: str) -> None:
        left = self._by_key.get(key, 1) - 1
        if left > 0:
            self._by_key[key] = left
        else:
            self._by_key.pop(key, None)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for the work in flight now to finish (bound it with `asyncio.timeout`)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))


async def stop(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait until it has unwound (nothing of it runs after this returns)."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
