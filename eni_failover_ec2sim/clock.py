"""Time as the simulator sees it: any zero-argument callable returning seconds.

Latencies, hung detaches and token buckets all read one clock, so a test that injects a
ManualClock controls every timed behaviour at once and never sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Clock = Callable[[], float]
"""Monotonic seconds; time.monotonic by default."""


class ManualClock:
    """A clock that moves only when told to; safe to share between threads.

    `sleep` advances the clock instead of blocking, so code under test that takes an
    injectable sleep function (bounded polling with a deadline) can be given `clock.sleep`
    and runs its whole timeline instantly against the simulator.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))
