"""Move a pair's routes, Elastic IPs and secondary IPs: every call at once, then verify.

Each address is one idempotent call (ReplaceRoute, AssociateAddress with
AllowReassociation, AssignPrivateIpAddresses with AllowReassignment), so the calls go out
together, a few at a time within EC2's request buckets, and a call EC2 did not take for
its own reasons (throttling, an internal error, no answer) is simply made again. A call
that returned is not yet a move that took effect: route tables and address associations
are eventually consistent, so the move is done only when a describe shows every address on
the target. Everything is bounded by one deadline; past it, or when EC2 refuses a call,
the move stops and says where every address is (AddressesStopped), and a retry, which
reads them again, moves only those not on the target yet.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eni_failover.config import Pair, Tuning
from eni_failover.errors import THROTTLING_CODES, TRANSIENT_CODES, AwsCallFailed
from eni_failover.kinds import kind_of, read_addresses
from eni_failover.observed import AddressView, InstanceView
from eni_failover.pair_record import PlannedAddress
from eni_failover.timeline import Timeline

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

# Calls in flight at once: enough that a pair's few addresses go out together, few enough
# that a wave of pairs stays within EC2's mutating-call bucket (botocore retries the rest).
MAX_CALLS_IN_FLIGHT = 4
POLL_JITTER = 0.2


class AddressesStopped(Exception):
    """The addresses could not all be moved; `left` says where each one is now."""

    def __init__(self, reason: str, left: Mapping[str, AddressView]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.left = dict(left)


@dataclass
class _AddressMover:
    client: EC2Client
    pair: Pair
    instances: Mapping[str, InstanceView]
    target: InstanceView
    tuning: Tuning
    timeline: Timeline
    deadline: float
    budget_seconds: float

    def out_of_time(self) -> bool:
        clock = self.timeline.clock
        return clock.monotonic() + self.tuning.poll_interval_seconds > self.deadline

    def pause(self) -> None:
        jitter = random.uniform(1 - POLL_JITTER, 1 + POLL_JITTER)  # noqa: S311 - not crypto
        self.timeline.clock.sleep(self.tuning.poll_interval_seconds * jitter)

    def request(self, addresses: list[AddressView]) -> dict[str, str]:
        """Make every address's call, again for those EC2 did not take, until each is
        taken or refused or time runs out; what was refused (or never taken), and why."""
        refused: dict[str, str] = {}
        pending = addresses
        with ThreadPoolExecutor(max_workers=min(MAX_CALLS_IN_FLIGHT, len(addresses))) as pool:
            while pending:
                errors = list(pool.map(self._call, pending))
                taken = [a.key for a, e in zip(pending, errors, strict=True) if e is None]
                if taken:
                    self.timeline.mark(
                        "move requested", f"{', '.join(taken)} to {self.target.instance_id}"
                    )
                again = []
                for address, error in zip(pending, errors, strict=True):
                    if error is None:
                        continue
                    # Not answered (a timeout) or EC2's own trouble: the call may be made
                    # again, it is idempotent. Anything else is EC2 saying no.
                    if (not error.answered or error.code in TRANSIENT_CODES) and (
                        not self.out_of_time()
                    ):
                        again.append(address)
                    else:
                        refused[address.key] = str(error)
                if again:
                    self.timeline.mark("move failed, retrying", "; ".join(a.key for a in again))
                    self.pause()
                pending = again
        return refused

    def _call(self, address: AddressView) -> AwsCallFailed | None:
        try:
            kind_of(address).move(self.client, address, self.target)
        except AwsCallFailed as error:
            return error
        return None

    def look(self) -> dict[str, AddressView] | None:
        """Every address of the pair now, or None when EC2 throttled the look."""
        try:
            views = read_addresses(self.client, [self.pair], self.instances)[self.pair.name]
        except AwsCallFailed as error:
            if error.code not in THROTTLING_CODES or self.out_of_time():
                raise
            return None
        return {v.key: v for v in views}

    def verify(self, keys: list[str]) -> tuple[dict[str, AddressView], list[str]]:
        """Poll until EC2 shows every address on the target, within the deadline; where
        each is, and those not shown there yet."""
        target = self.target.instance_id
        current: dict[str, AddressView] = {}
        while True:
            looked = self.look()
            if looked is not None:
                current = looked
                late = [k for k in keys if not current[k].held_by(target)]
                if not late:
                    return current, []
            if self.out_of_time():
                return current, late if looked is not None else keys
            self.pause()


def move_addresses(
    client: EC2Client,
    pair: Pair,
    planned: tuple[PlannedAddress, ...],
    observed: Mapping[str, AddressView],
    *,
    instances: Mapping[str, InstanceView],
    target: InstanceView,
    tuning: Tuning,
    budget_seconds: float,
    timeline: Timeline,
) -> dict[str, AddressView]:
    """Move the planned addresses to `target`; every address of the pair as EC2 shows it
    once all of them are there. Raises AddressesStopped otherwise."""
    mover = _AddressMover(
        client=client,
        pair=pair,
        instances=instances,
        target=target,
        tuning=tuning,
        timeline=timeline,
        deadline=timeline.clock.monotonic() + budget_seconds,
        budget_seconds=budget_seconds,
    )
    addresses = [observed[p.key] for p in planned]
    refused = mover.request(addresses)
    wanted = [p.key for p in planned if p.key not in refused]
    current, late = mover.verify(wanted) if wanted else (dict(observed), [])
    if not refused and not late:
        timeline.mark("verified", f"EC2 shows {', '.join(wanted)} on {target.instance_id}")
        return current
    said = []
    if refused:
        said.append(
            "EC2 refused to move "
            + "; ".join(f"{key} ({why})" for key, why in refused.items())
            + "; not retried"
        )
    if late:
        said.append(
            f"EC2 did not show {', '.join(late)} on {target.instance_id} within "
            f"{budget_seconds:.0f} s"
        )
    raise AddressesStopped("; ".join(said), current or observed)
