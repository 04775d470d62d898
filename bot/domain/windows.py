"""Planned windows and their conflicts. A release's planned window is when it goes into the final environment
(production), so two open releases whose windows overlap clash there, and a window that overlaps a freeze of
that environment clashes with the freeze. Pure: the service gathers windows and freezes, this decides."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.freezes import FreezeWindow
from bot.domain.message import Message, Strong, When


@dataclass(frozen=True)
class PlannedWindow:
    release_id: int
    ref: str
    environment: str
    start: datetime
    end: datetime
    status: str = "proposed"
    risk: str = "medium"
    proposer_id: str = ""

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class WindowConflict:
    kind: Literal["overlap", "freeze"]
    window: PlannedWindow
    other: PlannedWindow | None = None  # for "overlap"
    freeze: FreezeWindow | None = None  # for "freeze"

    def involves(self, release_id: int) -> bool:
        return self.window.release_id == release_id or (self.other is not None and self.other.release_id == release_id)

    @property
    def key(self) -> tuple[object, ...]:
        if self.other is not None:
            return ("overlap", *sorted((self.window.release_id, self.other.release_id)))
        assert self.freeze is not None
        return ("freeze", self.window.release_id, self.freeze.freeze_id, self.freeze.start)


def overlapping_windows(windows: Sequence[PlannedWindow]) -> list[WindowConflict]:
    """Every pair of windows in one environment that overlap, each pair once, in start order."""
    ordered = sorted(windows, key=lambda w: (w.start, w.end, w.release_id))
    found: list[WindowConflict] = []
    for index, window in enumerate(ordered):
        for later in ordered[index + 1 :]:
            if later.start >= window.end:
                break  # sorted by start: nothing after this one can overlap `window`
            if later.environment == window.environment and later.release_id != window.release_id:
                found.append(WindowConflict("overlap", window, other=later))
    return found


def frozen_windows(windows: Iterable[PlannedWindow], freezes: Iterable[FreezeWindow]) -> list[WindowConflict]:
    """Every window that overlaps a freeze of its environment (in part or whole)."""
    frozen = list(freezes)
    return [
        WindowConflict("freeze", window, freeze=freeze)
        for window in sorted(windows, key=lambda w: (w.start, w.release_id))
        for freeze in frozen
        if window.environment in freeze.environments and freeze.overlaps(window.start, window.end)
    ]


def conflicts(windows: Sequence[PlannedWindow], freezes: Iterable[FreezeWindow]) -> list[WindowConflict]:
    """All conflicts among `windows` and with `freezes`: overlaps first, then freezes."""
    return overlapping_windows(windows) + frozen_windows(windows, freezes)


def conflicts_of(
    window: PlannedWindow, others: Iterable[PlannedWindow], freezes: Iterable[FreezeWindow]
) -> list[WindowConflict]:
    """The conflicts one window has (at proposal or when it is scheduled), the window itself always first."""
    clashes = [
        WindowConflict("overlap", window, other=other)
        for other in sorted(others, key=lambda w: (w.start, w.release_id))
        if other.release_id != window.release_id
        and other.environment == window.environment
        and other.overlaps(window.start, window.end)
    ]
    return clashes + frozen_windows([window], freezes)


def by_release(found: Iterable[WindowConflict]) -> dict[int, list[WindowConflict]]:
    """Release id → the conflicts it takes part in (each conflict listed under both releases of an overlap)."""
    grouped: dict[int, list[WindowConflict]] = {}
    for conflict in found:
        grouped.setdefault(conflict.window.release_id, []).append(conflict)
        if conflict.other is not None:
            grouped.setdefault(conflict.other.release_id, []).append(conflict)
    return grouped


def describe(conflict: WindowConflict, release_id: int | None = None) -> Message:
    """One line, from the point of view of `release_id` (or of the conflict's first window)."""
    if conflict.other is not None:
        mine, theirs = conflict.window, conflict.other
        if release_id is not None and theirs.release_id == release_id:
            mine, theirs = theirs, mine
        return Message(
            "{mine} overlaps {theirs} in {environment} ({start} – {end})",
            mine=Strong(mine.ref),
            theirs=Strong(theirs.ref),
            environment=mine.environment,
            start=When(theirs.start),
            end=When(theirs.end),
        )
    freeze = conflict.freeze
    assert freeze is not None
    return Message(
        "{ref} falls in {label} of {environment} ({reason}, {start} – {end})",
        ref=Strong(conflict.window.ref),
        label=freeze.label,
        environment=conflict.window.environment,
        reason=freeze.reason,
        start=When(freeze.start),
        end=When(freeze.end),
    )
