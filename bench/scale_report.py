"""The scale part of docs/benchmarks.md: one summary line and section 5.

`python -m bench` renders both into the whole report; `python -m bench --only scale`
measures this part alone and splices both into the report already written, saying so and
when, so the page never passes one run's numbers off as another's.
"""

from __future__ import annotations

import os
from datetime import datetime

from bench.lab import median
from bench.markdown import seconds, table
from bench.read_units import PARTITION_READ_UNITS
from bench.scale import TARGET_RATIO, THROTTLING_DOCS, ScaleResult, Wave
from bench.splicing import splice_part
from eni_failover.shared_looks import CLAIM_SECONDS

SUMMARY_START = "- **Wide failure**"
# What the summary line said before the wave was one deployment: replaced on a splice.
OLD_SUMMARY_STARTS = ("- **50 pairs at once**",)
SECTION_PREFIX = "## 5. Scale"
EC2_ACTIONS = (
    "DescribeNetworkInterfaces",
    "DescribeInstances",
    "DescribeInstanceStatus",
    "DetachNetworkInterface",
    "AttachNetworkInterface",
)


def _verdict(result: ScaleResult) -> str:
    return "met" if result.ratio() <= TARGET_RATIO else "MISSED"


def _measured_apart(when: datetime) -> str:
    return f"measured on its own, {when:%Y-%m-%d %H:%M} UTC (`python -m bench --only scale`)"


def _slowed(result: ScaleResult) -> str:
    if result.slowed == 1:
        return "in real time"
    return f"with time slowed {result.slowed}x (section 5 says why)"


def summary_line(result: ScaleResult, *, measured_at: datetime | None = None) -> str:
    """The one line the summary gives it, beginning SUMMARY_START."""
    wave, before = result.wave("wave"), result.wave("wave-unshared")
    when = f"; {_measured_apart(measured_at)}" if measured_at else ""
    return (
        f"{SUMMARY_START} ({wave.pairs} of one deployment's {result.configured} pairs at once, "
        f"under EC2's request buckets at full size, {_slowed(result)}): the last was on its "
        f"standby {seconds(wave.last)} after the triggers, against "
        f"{seconds(result.one_pair)} for one pair alone (median of {len(result.alone)}): "
        f"{result.ratio():.2f}x, target "
        f"{TARGET_RATIO:g}x or less: {_verdict(result)}. {sum(wave.throttled.values())} "
        f"requests throttled and {sum(wave.ec2_requests.values())} EC2 requests in all, "
        f"against {sum(before.throttled.values())} and {sum(before.ec2_requests.values())} "
        f"with every move describing on its own ({seconds(before.last)}); every pair attached "
        f'exactly once and told "swapped" exactly once (section 5){when}.'
    )


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def section(result: ScaleResult, *, measured_at: datetime | None = None) -> str:
    wave, before = result.wave("wave"), result.wave("wave-unshared")
    real_alone, real_wave = result.wave("alone-real-time"), result.wave("wave-real-time")
    columns = (result.alone[0], wave, before, real_wave)
    runs = table(
        [
            "",
            "Time",
            "Pairs failing",
            "All on their standbys",
            "Median pair on its standby",
            "Last handler returned",
            "Requests throttled",
            "botocore retries",
            "Lambda retries",
        ],
        [_row(run) for run in (*result.alone, *result.waves)],
    )
    requests = table(
        ["EC2 action", *(_short(run) for run in columns)],
        [[action, *(_requests(run, action) for run in columns)] for action in EC2_ACTIONS]
        + [
            [
                "DynamoDB (the function's calls, all items)",
                *(
                    str(sum(n for op, n in run.calls.items() if op.startswith("dynamodb:")))
                    for run in columns
                ),
            ],
            [
                "DynamoDB read units a second (in brackets, the most read item's)",
                *(_read_rate(run) for run in columns),
            ],
        ],
    )
    buckets = ", ".join(
        f"{op} {size} tokens refilled at {rate:g}/s" for op, (rate, size) in result.buckets.items()
    )
    failed = (
        '\n\nBefore a Lambda retry, operators got a "failed" notification saying: '
        + "; ".join(f"*{failure}*" for failure in wave.failures)
        if wave.failures
        else ""
    )
    when = (
        f"\n\nThis section was {_measured_apart(measured_at)}; the other sections come from "
        "the run the header names."
        if measured_at
        else ""
    )
    k = result.slowed
    return f"""{SECTION_PREFIX}: {wave.pairs} of {result.configured} pairs fail at the same moment

One deployment protects {result.configured} pairs, as a user with a fleet would have it.
First one pair fails on its own, {len(result.alone)} times (one pair's time is their
median); then {wave.pairs} others fail at once (an Availability Zone's bad minute) and every
alarm fires. Lambda runs one invocation per trigger concurrently, each in its own sandbox:
here a thread with its own instance of the deployed function and its own clients, so the
invocations share nothing but AWS (the state table, the topics, EC2), as in Lambda. The
simulator enforces EC2's request token buckets at their documented size, one per action,
account-wide ([EC2 API throttling]({THROTTLING_DOCS})): {buckets}. They start full: nothing
else in the account calls EC2. Latencies are nominal. An invocation that fails after
botocore's retries is retried after {result.retry_pause_seconds:g} s, where Lambda would
wait about a minute.

The moves share their looks at EC2 (`eni_failover.shared_looks`), within their
Availability Zone: each registers the interfaces and instances it watches in its zone's
items of the state table (a look never spans zones, so a zone EC2 cannot describe blinds no
other); a look is read from the last
snapshot when one taken after the move's last action covers it, and otherwise one move
claims the next look (a claim that expires after {CLAIM_SECONDS:g} s, so a killed
invocation stalls nobody), describes what every registered move watches in one call per
action (a paginated network-interface-id filter, 200 IDs a call; the instances always,
since the moves waiting for their detach also check their target) and writes the snapshot
for the others. A move's next poll is due one poll interval after the look it read was
taken, not after it read it, so the moves wake together as the next look is due. A move
that registers alone describes directly, as before: one pair pays two DynamoDB writes
(registering and leaving), not one per poll. If DynamoDB fails, the move describes
directly. A move whose sandbox has not yet seen its pair learns the pair's zone from one
describe of its interfaces before it registers (a move alone uses that describe as its
first look); each sandbox here is new, as most of a wave's are in Lambda.

**How it is measured.** One Python process on {_cores(result)} plays {wave.pairs} Lambda
sandboxes and the whole AWS endpoint, and each AWS request costs it milliseconds of CPU (a
DynamoDB read about 6 ms, an update about 12 ms, measured idle); in Lambda every sandbox has
its own CPU and the requests run side by side. In real time this machine, not EC2, sets the
wave's pace (the last two rows). So the measurement against the target runs with time
slowed {k}x: every EC2 latency, the poll interval and every wait of the function and of the
sharing are {k} times longer and the buckets refill {k} times slower (same sizes). In EC2's
terms the event is the same (the same requests against the same tokens), while the machine
gets {k} times longer for the CPU; times are reported divided by {k}. One difference
remains: botocore's backoff after a throttle is not slowed, which flatters a run that is
throttled (the one where each move describes on its own), not the shared one.

**{wave.pairs} of {result.configured} at once: the last pair was on its standby after
{seconds(wave.last)}, against {seconds(result.one_pair)} for one pair alone: {result.ratio():.2f}x
(target: {TARGET_RATIO:g}x or less, {_verdict(result)}).** EC2 throttled
{sum(wave.throttled.values())} requests ({_throttled(wave)});
{_count(wave.lambda_retries, "invocation", "invocations")} needed Lambda's retry. With every
move describing on its own, as before the looks were shared, the same wave took
{seconds(before.last)} ({before.last / result.one_pair:.2f}x), EC2 throttled
{sum(before.throttled.values())} requests ({_throttled(before)}) and received
{sum(before.ec2_requests.values())} requests in all, against {sum(wave.ec2_requests.values())}
shared.

{runs}

EC2 requests received (throttled ones included; in brackets, how many were throttled), and
the function's DynamoDB calls:

{requests}

{_reads(wave)}

In real time the same kind of wave took {seconds(real_wave.last)} against {seconds(real_alone.last)}
for one pair: that is this machine's pace, with the requests queueing for its CPU.{failed}

Nothing was lost or doubled in any run: every interface ended attached to its own standby,
EC2 accepted exactly one attach per interface, and operators got exactly one "swapped"
notification per failed pair and none for the others.{when}"""


def _read_rate(run: Wave) -> str:
    _, busiest = run.busiest_item()
    return f"{run.read_units_per_second():,.0f} ({busiest:,.0f})"


def _reads(wave: Wave) -> str:
    """What the wave's DynamoDB reads cost the partitions: the per-partition limit is the
    one that bites, since every poll of every sharing move reads its zone's snapshot."""
    key, busiest = wave.busiest_item()
    verdict = "within" if busiest <= PARTITION_READ_UNITS else "BEYOND"
    return (
        f"DynamoDB reads, as DynamoDB bills them (a strongly consistent read costs a unit per "
        f"4 KB of the item, rounded up): the wave's GetItem calls cost "
        f"{sum(wave.read_units.values()):,.0f} read units, "
        f"{wave.read_units_per_second():,.0f} a second; the most read item, `{key}`, took "
        f"{busiest:,.0f} a second, {verdict} the {PARTITION_READ_UNITS:,} one partition serves. "
        "The moves of one zone poll one snapshot item; pairs spread over zones spread the "
        "reads over one item each."
    )


def _cores(result: ScaleResult) -> str:
    return f"{os.cpu_count() or 1} cores"


def _short(run: Wave) -> str:
    return run.title


def _requests(run: Wave, action: str) -> str:
    throttled = run.throttled.get(action, 0)
    return f"{run.ec2_requests.get(action, 0)}" + (f" ({throttled})" if throttled else "")


def _throttled(run: Wave) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(run.throttled.items())) or "none"


def _row(run: Wave) -> list[str]:
    retries = sum(run.attempts.values()) - sum(run.calls.values())
    return [
        run.title,
        "real" if run.slowed == 1 else f"slowed {run.slowed}x",
        str(run.pairs),
        seconds(run.last),
        seconds(median(list(run.attached))),
        seconds(max(run.returned)),
        str(sum(run.throttled.values())),
        str(retries),
        str(run.lambda_retries),
    ]


def splice(report: str, result: ScaleResult, measured_at: datetime) -> str:
    """The report with this part's summary line and section replaced."""
    return splice_part(
        report,
        summary_starts=(SUMMARY_START, *OLD_SUMMARY_STARTS),
        summary=summary_line(result, measured_at=measured_at),
        section_start=SECTION_PREFIX,
        section=section(result, measured_at=measured_at),
        before="## 6. ",
    )
