"""Scale: many pairs fail at the same moment, under EC2's request rate limits.

Every primary's status check fails at once (an Availability Zone's bad minute), every
alarm fires, and Lambda runs one invocation per trigger concurrently, each in its own
sandbox: here a thread with its own deployment (own clients, own retry quota) on the
shared table and topics. EC2 throttles per account, per Region, per API action with token
buckets; the simulator applies each action's documented bucket and answers
RequestLimitExceeded, which botocore's standard retry mode absorbs with backoff.

An invocation that still fails raises, and Lambda retries an asynchronous invocation
(about a minute later, twice at most); here the retry follows after a short pause, and
the report says how many there were, since each costs about a minute in AWS.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bench.lab import (
    CallCounter,
    Lab,
    Witness,
    alarm_event,
    clear_function_metrics,
    require,
)
from bench.settings import BenchSettings
from ec2sim import FaithfulEC2
from ec2sim.traffic import TokenBucket
from emulator.deployment import FakeLambdaContext
from eni_failover.errors import FailoverError

# Request token buckets from "Request throttling for the Amazon EC2 API" (rate per second,
# bucket size). The failover's describes use filters, so they draw on the larger
# non-mutating bucket, except DescribeInstanceStatus, which it calls with InstanceIds and
# no filter: counted against the smaller unfiltered bucket to be safe.
EC2_REQUEST_BUCKETS: Mapping[str, tuple[float, int]] = {
    "DescribeNetworkInterfaces": (20.0, 100),
    "DescribeInstances": (20.0, 100),
    "DescribeInstanceStatus": (10.0, 50),
    "AttachNetworkInterface": (5.0, 50),
    "DetachNetworkInterface": (5.0, 50),
}
THROTTLING_DOCS = "https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html"
# Lambda retries a failed asynchronous invocation twice.
LAMBDA_RETRIES = 2


class TieredRateEC2(FaithfulEC2):
    """FaithfulEC2 whose token buckets have each action's own rate and size.

    FaithfulEC2.rate_limit gives every throttled action one rate and burst; EC2's differ
    by category. Until ec2sim offers per-action rates, this replaces its bucket lookup.
    """

    def __init__(self, *, buckets: Mapping[str, tuple[float, int]], **latencies: Any) -> None:
        super().__init__(**latencies)
        self._rates = dict(buckets)
        self._tiered: dict[str, TokenBucket] = {}

    def _bucket(self, operation: str, now: float) -> TokenBucket | None:
        rate = self._rates.get(operation)
        if rate is None:
            return None
        bucket = self._tiered.get(operation)
        if bucket is None:
            bucket = TokenBucket(rate_per_second=rate[0], burst=rate[1], now=now)
            self._tiered[operation] = bucket
        return bucket


@dataclass(frozen=True)
class Wave:
    pairs: int
    attached: tuple[float, ...]  # per pair: seconds after the triggers until on its standby
    returned: tuple[float, ...]  # per pair: until its (last) invocation returned
    lambda_retries: int  # invocations that failed and were retried as Lambda would
    throttled: Counter[str]  # RequestLimitExceeded answers, by EC2 action
    ec2_requests: Counter[str]  # EC2 requests received, by action (throttled included)
    calls: Counter[str]  # calls the function made (botocore before-call), all services
    attempts: Counter[str]  # HTTP requests sent (before-send): calls + botocore's retries
    swapped_notifications: int
    failed_notifications: int


@dataclass(frozen=True)
class ScaleResult:
    alone: Wave
    crowd: Wave
    buckets: Mapping[str, tuple[float, int]]
    retry_pause_seconds: float


def run_scale(lab: Lab, settings: BenchSettings, progress: Callable[[str], None]) -> ScaleResult:
    pause = 1.0
    alone = _wave(lab, settings, 1, pause)
    progress(f"scale: one pair alone on its standby after {alone.attached[0]:.3f} s")
    crowd = _wave(lab, settings, settings.scale_pairs, pause)
    progress(
        f"scale: {crowd.pairs} pairs all on their standbys after {max(crowd.attached):.3f} s, "
        f"{sum(crowd.throttled.values())} requests throttled, {crowd.lambda_retries} Lambda retries"
    )
    return ScaleResult(
        alone=alone, crowd=crowd, buckets=EC2_REQUEST_BUCKETS, retry_pause_seconds=pause
    )


def _wave(lab: Lab, settings: BenchSettings, count: int, retry_pause: float) -> Wave:
    built = [lab.new_pair("scale") for _ in range(count)]
    pairs = tuple(pair for _, pair in built)
    counter = CallCounter()
    # One deployment per concurrent invocation: Lambda runs each in its own sandbox.
    sandboxes = [lab.deployment(pairs, settings.tuning, counter) for _ in range(count)]
    events = [alarm_event(pair) for pair in pairs]
    returned = [0.0] * count
    retries = [0] * count
    problems: list[str] = []
    start_line = threading.Barrier(count + 1)
    started = 0.0

    def invocation(index: int) -> None:
        start_line.wait()
        for attempt in range(LAMBDA_RETRIES + 1):
            try:
                sandboxes[index].invoke(events[index], FakeLambdaContext())
                break
            except FailoverError as error:
                if attempt == LAMBDA_RETRIES:
                    problems.append(f"{pairs[index].name}: gave up after Lambda's retries: {error}")
                    break
                retries[index] += 1
                time.sleep(retry_pause)
        returned[index] = time.monotonic() - started

    nominal = settings.latencies.nominal()
    with TieredRateEC2(
        buckets=EC2_REQUEST_BUCKETS,
        detach_seconds=nominal.detach,
        attach_seconds=nominal.attach,
        force_detach_seconds=nominal.force,
    ) as sim:
        witness = Witness()
        witness.install(sim)
        for topology, _ in built:
            sim.set_status(topology.primary_instance_id, instance="impaired")
        threads = [threading.Thread(target=invocation, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        start_line.wait()
        for thread in threads:
            thread.join()
        throttled, requests = sim.throttled, sim.calls
        sim.settle()
        places = [lab.where(topology.interface_id) for topology, _ in built]

    require(not problems, "scale: " + "; ".join(problems))
    attached = []
    for (topology, pair), place in zip(built, places, strict=True):
        require(
            place == (topology.standby_instance_id, "attached"),
            f"scale: {pair.name}'s interface is on {place}, not on its standby",
        )
        attaches = witness.attaches_of(topology.interface_id)
        require(len(attaches) == 1, f"scale: {pair.name} was attached {len(attaches)} times")
        attached.append(attaches[0] + nominal.attach - started)
    outcomes = Counter(
        (n["attributes"].get("pair"), n["attributes"].get("outcome"))
        for n in sandboxes[0].notifications()
    )
    for pair in pairs:
        require(
            outcomes[(pair.name, "swapped")] == 1,
            f"scale: {pair.name} has {outcomes[(pair.name, 'swapped')]} 'swapped' notifications",
        )
    clear_function_metrics()
    return Wave(
        pairs=count,
        attached=tuple(attached),
        returned=tuple(returned),
        lambda_retries=sum(retries),
        throttled=throttled,
        ec2_requests=requests,
        calls=counter.calls(),
        attempts=counter.attempts(),
        swapped_notifications=sum(n for (_, kind), n in outcomes.items() if kind == "swapped"),
        failed_notifications=sum(n for (_, kind), n in outcomes.items() if kind == "failed"),
    )
