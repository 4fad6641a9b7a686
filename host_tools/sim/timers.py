"""One-shot timers on an injected clock: the supervisor's loop runs what is due.

The clock is any `() -> float` of seconds (`time.monotonic` in the sim, a fake in tests), so
everything timed through it (line pacing, Ctrl-C fallback, restarts) is testable without
sleeping.
"""

from __future__ import annotations

from collections.abc import Callable

Clock = Callable[[], float]


class Timers:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._due: list[tuple[float, Callable[[], None]]] = []

    def add(self, delay: float, fn: Callable[[], None]) -> None:
        """Run fn once, delay seconds from now (at the next run_due() after that)."""
        self._due.append((self.clock() + delay, fn))

    def next_due(self) -> float | None:
        """The clock time of the earliest timer, or None when none is set."""
        return min((t for t, _ in self._due), default=None)

    def run_due(self) -> None:
        """Run every timer whose time has come; timers they add wait for the next call."""
        now = self.clock()
        due = [t for t in self._due if t[0] <= now]
        self._due = [t for t in self._due if t[0] > now]
        for _, fn in due:
            fn()

    def __len__(self) -> int:
        return len(self._due)
