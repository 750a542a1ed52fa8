"""The slow part of EC2: attachments and instances that take time to change state.

moto applies every change at once. Here a change that EC2 makes asynchronously is a
transition with a countdown, measured either in seconds of the simulator's clock or in
describe calls that have observed it (for tests that count polls instead of time).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Literal

InterfacePhase = Literal["attaching", "detaching"]


@dataclass(frozen=True)
class Delay:
    """How long a transition lasts: `seconds` of clock time, or `polls` describe calls."""

    seconds: float = 0.0
    polls: int | None = None

    def __post_init__(self) -> None:
        if self.seconds < 0 or (self.polls is not None and self.polls < 0):
            raise ValueError(f"a delay cannot be negative: {self}")
        if self.polls is not None and self.seconds:
            raise ValueError("give a delay in seconds or in polls, not both")

    def start(self, now: float) -> Countdown:
        if self.polls is not None:
            return Countdown(due_at=None, polls_left=self.polls)
        return Countdown(due_at=now + self.seconds, polls_left=None)


@dataclass
class Countdown:
    """When a transition completes; with neither a due time nor polls it never does."""

    due_at: float | None
    polls_left: int | None

    @classmethod
    def never(cls) -> Countdown:
        return cls(due_at=None, polls_left=None)

    @property
    def is_never(self) -> bool:
        return self.due_at is None and self.polls_left is None

    def ready(self, now: float) -> bool:
        if self.due_at is not None:
            return now >= self.due_at
        return self.polls_left == 0

    def observe(self) -> None:
        """A describe call has shown the intermediate state once more."""
        if self.polls_left:
            self.polls_left -= 1


class HangMode(enum.Enum):
    """How a detach that should hang behaves, as seen on unhealthy instances."""

    UNTIL_FORCED = "until-forced"
    """Stays "detaching" until DetachNetworkInterface with Force=True, then completes."""
    FOREVER = "forever"
    """Stays "detaching" even after Force: the case where the caller has to give up."""


@dataclass
class InterfaceTransition:
    """An ENI on its way onto or off an instance; moto already holds the attachment."""

    phase: InterfacePhase
    interface: Any  # moto NetworkInterface
    instance: Any  # moto Instance
    countdown: Countdown
    hang: HangMode | None = None
    forced: bool = False


@dataclass
class StopTransition:
    """An instance in "stopping"; moto has already stopped it and we show it stopping."""

    instance: Any  # moto Instance
    countdown: Countdown


@dataclass
class RouteChange:
    """A ReplaceRoute EC2 has accepted that DescribeRouteTables does not show yet.

    The moto route keeps the target it had (what describes show) until the change
    completes and `target` (moto's route attributes after the replace) is put on it.
    """

    route: Any  # moto Route
    target: dict[str, Any]
    countdown: Countdown


@dataclass
class AddressChange:
    """An Elastic IP association EC2 has changed that DescribeAddresses does not show yet.

    moto's address already holds the new association (the old association ID is gone at
    once); `shown` is a copy of it as it was, which DescribeAddresses serves meanwhile.
    """

    shown: Any  # a copy of the moto ElasticAddress
    countdown: Countdown
