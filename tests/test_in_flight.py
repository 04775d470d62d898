"""The in-flight cap: work counted from the moment it is accepted; "full" at the cap or when the loop runs late."""

import asyncio
import time

from bot.in_flight import InFlight


async def test_work_counts_from_acceptance_until_it_ends() -> None:
    in_flight = InFlight(capacity=2)
    gate = asyncio.Event()
    first = in_flight.spawn(gate.wait())
    assert len(in_flight) == 1  # before its first step: a burst cannot slip past the cap
    assert not in_flight.full
    second = in_flight.spawn(gate.wait())
    assert in_flight.full
    gate.set()
    await asyncio.gather(first, second)
    assert len(in_flight) == 0
    assert not in_flight.full


async def test_a_late_event_loop_counts_as_full_until_it_catches_up() -> None:
    in_flight = InFlight(capacity=100, max_lag=0.05)  # one 0.5 s stall counts 0.1 (smoothed), then fades
    in_flight.watch()
    try:
        await asyncio.sleep(0.05)
        assert not in_flight.full
        time.sleep(0.5)  # noqa: ASYNC251 (blocking the loop is the point: saturation looks like this from inside)
        await asyncio.sleep(0.001)  # the overdue probe runs first
        assert in_flight.lag > 0.05
        assert in_flight.full
        await asyncio.sleep(0.5)
        assert not in_flight.full
    finally:
        await in_flight.unwatch()


async def test_no_capacity_means_no_cap() -> None:
    in_flight = InFlight()
    in_flight.lag = 10.0
    assert not in_flight.full


async def test_one_workspace_holds_its_share_at_most_and_the_others_are_still_let_in() -> None:
    in_flight = InFlight(capacity=4, share=3)
    release = asyncio.Event()
    for _ in range(3):
        in_flight.spawn(release.wait(), key="T0FLOOD")
    assert in_flight.full_for("T0FLOOD")
    assert not in_flight.full_for("T0QUIET")
    in_flight.spawn(release.wait(), key="T0QUIET")
    assert in_flight.full_for("T0QUIET")  # the cap itself
    release.set()
    await in_flight.drain()
    await asyncio.sleep(0)
    assert not in_flight.full_for("T0FLOOD")
