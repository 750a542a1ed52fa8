"""The function's clock moved ahead of real time, for letting minutes pass without waiting.

EC2 (and moto) stamp their changes with real time; a sweep, a hold-down or a stale-trigger
rule reads the function's clock. Shifting only `now` lets a test or a benchmark put the
function five minutes after a repair while every poll and sleep still runs in real time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from eni_failover.timeline import SystemClock


class ShiftedClock(SystemClock):
    def __init__(self, ahead: timedelta = timedelta()) -> None:
        self.ahead = ahead

    def now(self) -> datetime:
        return super().now() + self.ahead

    def advance(self, seconds: float) -> None:
        self.ahead += timedelta(seconds=seconds)
