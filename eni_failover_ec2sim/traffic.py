"""What happens to an EC2 request before it reaches the backend: throttling and faults.

None of these classes lock; the simulator calls them under its own lock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CallEvent:
    """One EC2 API call that succeeded, as given to callbacks registered with `on`."""

    operation: str
    """The API action name, e.g. "DetachNetworkInterface"."""
    params: Mapping[str, Any]
    """The request parameters as EC2 names them, e.g. {"AttachmentId": ..., "Force": True}."""


CallCallback = Callable[[CallEvent], None]


class TokenBucket:
    """EC2's per-action request rate limit: `burst` tokens, refilled at `rate_per_second`."""

    def __init__(self, *, rate_per_second: float, burst: int, now: float) -> None:
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self._rate = rate_per_second
        self._burst = float(burst)
        self._tokens = float(burst)
        self._updated = now

    def take(self, now: float) -> bool:
        elapsed = max(now - self._updated, 0.0)
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


@dataclass
class Fault:
    """An error the next `remaining` calls of an operation get instead of being served."""

    code: str
    message: str
    remaining: int


@dataclass
class Subscription:
    """A callback run after successful calls of an operation; `remaining` None is forever."""

    callback: CallCallback
    remaining: int | None
