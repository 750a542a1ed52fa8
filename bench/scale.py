"""Scale: many pairs fail at the same moment, under EC2's request rate limits.

Every primary's status check fails at once (an Availability Zone's bad minute), every
alarm fires, and Lambda runs one invocation per trigger concurrently, each in its own
sandbox: here a thread with its own deployment (own clients, own retry quota) on the
shared table and topics. EC2 throttles per account, per Region, per API action with token
buckets; the simulator applies each action's documented bucket and answers
RequestLimitExceeded, which botocore's standard retry mode absorbs with backoff.

One process on a small machine cannot issue 50 invocations' calls as fast as 50 Lambda
sandboxes and EC2 would, so the full crowd is slowed by this machine before EC2's buckets
run dry (a run without the rate limit shows how much). The throttling itself is measured
on a scaled crowd: a fifth of the pairs against a fifth of every bucket gives each pair the
same tokens and refill it would have in the full event, at a size this machine keeps up
with (again shown by a run without the rate limit).

An invocation that still fails raises, and Lambda retries an asynchronous invocation
(about a minute later, twice at most); here the retry follows after a short pause, and
the report says how many there were, since each costs about a minute in AWS.
"""

from __future__ import annotations

import json
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
from bench.swap_time import tuning_for
from ec2sim import FaithfulEC2
from ec2sim.traffic import TokenBucket
from emulator.deployment import FakeLambdaContext
from eni_failover.errors import FailoverError
from eni_failover.outcome import JSON_MARKER

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
# The scaled crowd: this many times fewer pairs, against this many times smaller buckets.
SCALE_DOWN = 5
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
class WavePlan:
    key: str
    title: str
    pairs: int
    bucket_share: float  # of each EC2 bucket's size and refill; 0: no rate limit
    poll_seconds: float


def scaled_buckets(share: float) -> dict[str, tuple[float, int]]:
    return {
        operation: (rate * share, max(1, round(size * share)))
        for operation, (rate, size) in EC2_REQUEST_BUCKETS.items()
    }


@dataclass(frozen=True)
class Wave:
    key: str
    title: str
    bucket_share: float
    poll_seconds: float
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
    failures: tuple[str, ...]  # the error of each "failed" outcome, as operators got it


@dataclass(frozen=True)
class ScaleResult:
    waves: tuple[Wave, ...]
    buckets: Mapping[str, tuple[float, int]]
    retry_pause_seconds: float

    def wave(self, key: str) -> Wave:
        return next(w for w in self.waves if w.key == key)


def run_scale(lab: Lab, settings: BenchSettings, progress: Callable[[str], None]) -> ScaleResult:
    pause = 1.0
    poll, short = settings.tuning.poll_interval_seconds, settings.short_poll_seconds
    crowd = settings.scale_pairs
    scaled = max(1, crowd // SCALE_DOWN)
    share = scaled / crowd
    plans = (
        WavePlan("alone", "One pair alone", 1, bucket_share=1.0, poll_seconds=poll),
        WavePlan("crowd", "All at once", crowd, bucket_share=1.0, poll_seconds=poll),
        WavePlan(
            "crowd-unlimited",
            "All at once, no rate limit",
            crowd,
            bucket_share=0.0,
            poll_seconds=poll,
        ),
        WavePlan(
            "scaled",
            f"{crowd} pairs' throttling, scaled down",
            scaled,
            bucket_share=share,
            poll_seconds=poll,
        ),
        WavePlan(
            "scaled-unlimited",
            "Scaled down, no rate limit",
            scaled,
            bucket_share=0.0,
            poll_seconds=poll,
        ),
        WavePlan(
            "scaled-fast",
            f"{crowd} pairs' throttling, scaled down, {short:g} s poll",
            scaled,
            bucket_share=share,
            poll_seconds=short,
        ),
    )
    waves = []
    for plan in plans:
        wave = _wave(lab, settings, plan, pause)
        progress(
            f"scale {plan.key}: {wave.pairs} on their standbys after {max(wave.attached):.3f} s, "
            f"{sum(wave.throttled.values())} requests throttled, "
            f"{wave.lambda_retries} Lambda retries"
        )
        waves.append(wave)
    return ScaleResult(waves=tuple(waves), buckets=EC2_REQUEST_BUCKETS, retry_pause_seconds=pause)


def _wave(lab: Lab, settings: BenchSettings, plan: WavePlan, retry_pause: float) -> Wave:
    lab.fresh_account()
    count = plan.pairs
    built = [lab.new_pair(plan.key) for _ in range(count)]
    pairs = tuple(pair for _, pair in built)
    counter = CallCounter()
    tuning = tuning_for(settings, plan.poll_seconds)
    # One deployment per concurrent invocation: Lambda runs each in its own sandbox.
    sandboxes = [lab.deployment(pairs, tuning, counter) for _ in range(count)]
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
        buckets=scaled_buckets(plan.bucket_share) if plan.bucket_share else {},
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
    notifications = sandboxes[0].notifications()
    outcomes = Counter(
        (n["attributes"].get("pair"), n["attributes"].get("outcome")) for n in notifications
    )
    # What operators were told when an invocation gave up: where it stopped, and why.
    failures = tuple(
        failure_summary(n["message"])
        for n in notifications
        if n["attributes"].get("outcome") == "failed"
    )
    for pair in pairs:
        require(
            outcomes[(pair.name, "swapped")] == 1,
            f"scale: {pair.name} has {outcomes[(pair.name, 'swapped')]} 'swapped' notifications",
        )
    clear_function_metrics()
    return Wave(
        key=plan.key,
        title=plan.title,
        bucket_share=plan.bucket_share,
        poll_seconds=plan.poll_seconds,
        pairs=count,
        attached=tuple(attached),
        returned=tuple(returned),
        lambda_retries=sum(retries),
        throttled=throttled,
        ec2_requests=requests,
        calls=counter.calls(),
        attempts=counter.attempts(),
        swapped_notifications=sum(n for (_, kind), n in outcomes.items() if kind == "swapped"),
        failed_notifications=len(failures),
        failures=failures,
    )


def failure_summary(message: str) -> str:
    facts = json.loads(message.split(JSON_MARKER, 1)[1])
    sides = {facts["from_instance_id"]: "the primary", facts["to_instance_id"]: "the standby"}
    interfaces = ", ".join(
        f"attached to {sides.get(i['attached_to'], i['attached_to'])}"
        if i["attached_to"]
        else "detached"
        for i in facts["interfaces"]
    )
    return f"{facts['error']} (interface left {interfaces})"
