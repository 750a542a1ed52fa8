"""Time as the failover sees it: a clock that tests can replace, and a move's timeline.

Kept apart from the swap so that what only reads time (the outcome, the operator CLI)
does not load the swap and what it imports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class Step:
    name: str
    at: datetime
    seconds: float  # since the move started
    detail: str = ""


@dataclass
class Timeline:
    clock: Clock
    started: float = 0.0
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = self.clock.monotonic()

    def mark(self, name: str, detail: str = "") -> None:
        elapsed = self.clock.monotonic() - self.started
        self.steps.append(Step(name=name, at=self.clock.now(), seconds=elapsed, detail=detail))
