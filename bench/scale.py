"""Scale: many pairs of one deployment fail at the same moment, under EC2's rate limits.

One stack protects `scale_configured` pairs (200 in `make bench`). First one pair fails on
its own, a few times: one pair's time. Then `scale_pairs` of them (50) fail at once (an
Availability Zone's bad minute): every alarm fires, and Lambda runs one invocation per
trigger concurrently, each in its own sandbox: here a thread with its own deployment of the
same stack (own clients, own retry quota) on the shared table and topics, so the moves
share nothing but AWS, as in Lambda. EC2 throttles per account, per Region, per API action
with token buckets; the simulator applies each action's documented bucket, full size, and
answers RequestLimitExceeded, which botocore's standard retry mode absorbs with backoff.
The same runs once more in real time show how much of the time is this machine's (one
process, two cores, for 50 sandboxes and the endpoint); the measurement against the target
runs with time slowed (`scale_slowed`) to leave it out.

An invocation that still fails raises, and Lambda retries an asynchronous invocation
(about a minute later, twice at most); here the retry follows after a short pause, and
the report says how many there were, since each costs about a minute in AWS.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from bench.lab import (
    CallCounter,
    Lab,
    Witness,
    alarm_event,
    clear_function_metrics,
    median,
    require,
)
from bench.settings import BenchSettings
from eni_failover import shared_looks
from eni_failover.config import Pair, Tuning
from eni_failover.errors import FailoverError
from eni_failover.outcome import JSON_MARKER
from eni_failover.shared_looks import SharedLooks
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_ec2sim.traffic import TokenBucket
from eni_failover_emulator.deployment import FakeLambdaContext

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
# From the issue: the wave's last pair on its standby within this many times one pair's time.
TARGET_RATIO = 1.5
# One pair alone, this many times: the baseline is their median.
ALONE_RUNS = 3
# The function's timeout (the stack's), which bounds a move's budget.
LAMBDA_TIMEOUT_SECONDS = 60.0
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
class Plan:
    key: str
    title: str
    pairs: int  # failing at once
    slowed: int  # time runs this many times slower (1: real time)
    shared: bool = True  # the moves share their looks (False: each describes on its own)


@dataclass(frozen=True)
class Wave:
    key: str
    title: str
    slowed: int
    shared: bool
    pairs: int  # failing at once, of the deployment's configured pairs
    # Per pair, in the event's own seconds (a slowed run's divided by its slowing): after
    # the triggers until on its standby, and until its (last) invocation returned.
    attached: tuple[float, ...]
    returned: tuple[float, ...]
    lambda_retries: int  # invocations that failed and were retried as Lambda would
    throttled: Counter[str]  # RequestLimitExceeded answers, by EC2 action
    ec2_requests: Counter[str]  # EC2 requests received, by action (throttled included)
    calls: Counter[str]  # calls the function made (botocore before-call), all services
    attempts: Counter[str]  # HTTP requests sent (before-send): calls + botocore's retries
    # DynamoDB read units the function's GetItem calls cost, by item key (bench.read_units).
    read_units: Mapping[str, float]
    swapped_notifications: int
    failed_notifications: int
    failures: tuple[str, ...]  # the error of each "failed" outcome, as operators got it

    @property
    def last(self) -> float:
        """When the wave's last pair was on its standby."""
        return max(self.attached)

    def read_units_per_second(self) -> float:
        """DynamoDB read units a second, in the event's seconds, from the triggers until the
        last handler returned (the reads go on until then)."""
        return sum(self.read_units.values()) / max(self.returned)

    def busiest_item(self) -> tuple[str, float]:
        """The item read the most (one item lives in one partition), and its units a second."""
        if not self.read_units:
            return "none", 0.0
        key = max(self.read_units, key=lambda k: self.read_units[k])
        return key, self.read_units[key] / max(self.returned)


@dataclass(frozen=True)
class ScaleResult:
    configured: int  # pairs in the one deployment
    slowed: int  # how much slower time ran for the measurement against the target
    alone: tuple[Wave, ...]  # one pair failing on its own, ALONE_RUNS times, slowed
    waves: tuple[Wave, ...]
    buckets: Mapping[str, tuple[float, int]]
    retry_pause_seconds: float

    def wave(self, key: str) -> Wave:
        return next(w for w in (*self.alone, *self.waves) if w.key == key)

    @property
    def one_pair(self) -> float:
        """One pair's time: the median of the runs alone."""
        return median([run.last for run in self.alone])

    def ratio(self, key: str = "wave") -> float:
        return self.wave(key).last / self.one_pair


def plans(settings: BenchSettings) -> tuple[list[Plan], list[Plan]]:
    """The runs alone, then the waves."""
    failing, configured = settings.scale_pairs, settings.scale_configured
    slowed = settings.scale_slowed
    alone = [Plan(f"alone-{n}", "One pair alone", 1, slowed) for n in range(1, ALONE_RUNS + 1)]
    waves = [
        Plan("wave", f"{failing} of {configured} at once", failing, slowed),
        Plan(
            "wave-unshared",
            f"{failing} of {configured} at once, looks not shared (as before)",
            failing,
            slowed,
            shared=False,
        ),
        Plan("alone-real-time", "One pair alone, real time", 1, 1),
        Plan("wave-real-time", f"{failing} of {configured} at once, real time", failing, 1),
    ]
    return alone, waves


def run_scale(lab: Lab, settings: BenchSettings, progress: Callable[[str], None]) -> ScaleResult:
    pause = 1.0
    configured = settings.scale_configured
    alone_plans, wave_plans = plans(settings)
    needed = sum(plan.pairs for plan in (*alone_plans, *wave_plans))
    require(
        configured >= needed,
        f"scale: {configured} configured pairs are too few for runs that fail {needed}",
    )
    lab.fresh_account()
    built = [lab.new_pair("fleet") for _ in range(configured)]
    progress(f"scale: {configured} pairs built, deployed as one stack")
    # Each run takes pairs that have not failed yet, so none starts already moved.
    unused = iter(built)
    runs: list[list[Wave]] = [[], []]
    for done, group in zip(runs, (alone_plans, wave_plans), strict=True):
        for plan in group:
            failing = [next(unused) for _ in range(plan.pairs)]
            with nullcontext() if plan.shared else looks_not_shared():
                wave = _wave(lab, settings, built, failing, plan, retry_pause=pause)
            progress(
                f"scale {plan.key}: {wave.pairs} on their standbys after {wave.last:.3f} s "
                f"(time slowed {plan.slowed}x), {sum(wave.throttled.values())} requests "
                f"throttled, {wave.lambda_retries} Lambda retries"
            )
            done.append(wave)
    return ScaleResult(
        configured=configured,
        slowed=settings.scale_slowed,
        alone=tuple(runs[0]),
        waves=tuple(runs[1]),
        buckets=EC2_REQUEST_BUCKETS,
        retry_pause_seconds=pause,
    )


@contextmanager
def looks_not_shared() -> Iterator[None]:
    """Every move describes on its own, as before the looks were shared: no move registers,
    so each finds itself alone (shared_looks)."""
    original = SharedLooks.watch

    def alone(self: SharedLooks, *_: Any, **__: Any) -> None:
        return None

    SharedLooks.watch = alone  # type: ignore[method-assign]
    try:
        yield
    finally:
        SharedLooks.watch = original  # type: ignore[method-assign]


@contextmanager
def slowed_looks(slowed: int) -> Iterator[None]:
    """The sharing's own waits and claims, slowed like everything else in a slowed run."""
    names = ("CLAIM_SECONDS", "GIVE_UP_SECONDS", "CLOCK_MARGIN_SECONDS", "WAIT_SECONDS")
    saved = {name: getattr(shared_looks, name) for name in names}
    for name, value in saved.items():
        scaled = tuple(v * slowed for v in value) if isinstance(value, tuple) else value * slowed
        setattr(shared_looks, name, scaled)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(shared_looks, name, value)


def slowed_tuning(tuning: Tuning, slowed: int) -> Tuning:
    return tuning.model_copy(
        update={
            "poll_interval_seconds": tuning.poll_interval_seconds * slowed,
            "detach_grace_seconds": tuning.detach_grace_seconds * slowed,
            "swap_deadline_seconds": tuning.swap_deadline_seconds * slowed,
            "lease_wait_seconds": tuning.lease_wait_seconds * slowed,
        }
    )


def _wave(
    lab: Lab,
    settings: BenchSettings,
    fleet: list[tuple[PairTopology, Pair]],
    failing: list[tuple[PairTopology, Pair]],
    plan: Plan,
    *,
    retry_pause: float,
) -> Wave:
    count, slowed = len(failing), plan.slowed
    every_pair = tuple(pair for _, pair in fleet)
    pairs = tuple(pair for _, pair in failing)
    counter = CallCounter()
    tuning = slowed_tuning(settings.tuning, slowed)
    # One stack for every pair; one sandbox (own clients) per concurrent invocation.
    sandboxes = [lab.deployment(every_pair, tuning, counter) for _ in range(count)]
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
                context = FakeLambdaContext(remaining_seconds=LAMBDA_TIMEOUT_SECONDS * slowed)
                sandboxes[index].invoke(events[index], context)
                break
            except FailoverError as error:
                if attempt == LAMBDA_RETRIES:
                    problems.append(f"{pairs[index].name}: gave up after Lambda's retries: {error}")
                    break
                retries[index] += 1
                time.sleep(retry_pause * slowed)
        returned[index] = time.monotonic() - started

    nominal = settings.latencies.nominal()
    buckets = {op: (rate / slowed, size) for op, (rate, size) in EC2_REQUEST_BUCKETS.items()}
    with (
        TieredRateEC2(
            buckets=buckets,
            detach_seconds=nominal.detach * slowed,
            attach_seconds=nominal.attach * slowed,
            force_detach_seconds=nominal.force * slowed,
        ) as sim,
        slowed_looks(slowed),
    ):
        witness = Witness()
        witness.install(sim)
        for topology, _ in failing:
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
        places = [lab.where(topology.interface_id) for topology, _ in failing]

    require(not problems, "scale: " + "; ".join(problems))
    attached = []
    for (topology, pair), place in zip(failing, places, strict=True):
        require(
            place == (topology.standby_instance_id, "attached"),
            f"scale: {pair.name}'s interface is on {place}, not on its standby",
        )
        attaches = witness.attaches_of(topology.interface_id)
        require(len(attaches) == 1, f"scale: {pair.name} was attached {len(attaches)} times")
        attached.append((attaches[0] + nominal.attach * slowed - started) / slowed)
    swapped, failures = _told(sandboxes[0].notifications(), pairs, plan.key)
    clear_function_metrics()
    return Wave(
        key=plan.key,
        title=plan.title,
        slowed=slowed,
        shared=plan.shared,
        pairs=count,
        attached=tuple(attached),
        returned=tuple(r / slowed for r in returned),
        lambda_retries=sum(retries),
        throttled=throttled,
        ec2_requests=requests,
        calls=counter.calls(),
        attempts=counter.attempts(),
        read_units=counter.read_units(),
        swapped_notifications=swapped,
        failed_notifications=len(failures),
        failures=failures,
    )


def _told(
    notifications: list[dict[str, Any]], pairs: tuple[Pair, ...], key: str
) -> tuple[int, tuple[str, ...]]:
    """The "swapped" notifications, checked one per failed pair and none for another, and
    what operators were told when an invocation gave up (where it stopped, and why)."""
    outcomes = Counter(
        (n["attributes"].get("pair"), n["attributes"].get("outcome")) for n in notifications
    )
    for pair in pairs:
        require(
            outcomes[(pair.name, "swapped")] == 1,
            f"scale: {pair.name} has {outcomes[(pair.name, 'swapped')]} 'swapped' notifications",
        )
    swapped = sum(n for (_, kind), n in outcomes.items() if kind == "swapped")
    require(swapped == len(pairs), f"scale: a pair that did not fail was told 'swapped' ({key})")
    failures = tuple(
        failure_summary(n["message"])
        for n in notifications
        if n["attributes"].get("outcome") == "failed"
    )
    return swapped, failures


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
