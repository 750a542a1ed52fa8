"""docs/benchmarks.md from one run's results: every number in it comes from that run."""

from __future__ import annotations

from collections.abc import Callable

from bench import api_calls, noise_report, pictures, scale_report, service_report
from bench.api_calls import Column
from bench.detection import LAMBDA_MEMORY_DOCS
from bench.lab import median, worst
from bench.markdown import millis, seconds, table
from bench.run import Results
from bench.swap_time import (
    CAREFUL_SEQUENTIAL_CALLS,
    FLOOR_ROUND_TRIPS,
    ScenarioResult,
    SwapRun,
)
from eni_failover.config import Tuning

TARGET_OVERSHOOT = 0.3  # seconds, from the issue
SECTIONS = (
    "## Summary",
    "## 1. Swap time against the floor",
    "## 2. The same move, the ways other tools make it",
    "## 3. AWS API calls per failover",
    "## 4. Cold start",
    "## 5. Scale",
    "## 6. Detection, modelled",
    service_report.SECTION_HEADING,
    noise_report.SECTION_HEADING,
)


def render(results: Results) -> str:
    sections = [
        _header(results),
        _summary(results),
        _swap_section(results),
        _ways_section(results),
        _calls_section(results),
        _cold_section(results),
        _scale_section(results),
        _detection_section(results),
        service_report.section(results.service),
        noise_report.section(results.noise),
        _limits(),
    ]
    return "\n\n".join(sections).rstrip() + "\n"


def _attached(result: ScenarioResult) -> list[float]:
    return result.values(lambda r: r.attached)


def _overshoot(result: ScenarioResult) -> list[float]:
    return result.values(lambda r: r.overshoot)


# -- header and summary ---------------------------------------------------------------


def _header(results: Results) -> str:
    settings, machine = results.settings, results.machine
    tuning = settings.tuning
    packages = ", ".join(f"{name} {version}" for name, version in machine.packages.items())
    trips = list(results.round_trips)
    warning = (
        ""
        if settings.label == "full"
        else f"\n> **{settings.label} run**: too few repetitions to quote; run `make bench`.\n"
    )
    which = "the production defaults" if tuning == Tuning() else "changed for this run"
    return f"""# Benchmarks: failover time against its floor and against other tools' ways

Written by `make bench` (`python -m bench`) on {results.started_at:%Y-%m-%d %H:%M} UTC in
{results.seconds / 60:.1f} minutes. Every number on this page comes from that run.
{warning}
- Machine: {machine.cpu}, {machine.cores} cores, {machine.system}, {machine.python}. Other
  jobs shared the machine (1-minute load average {results.load[0]:.1f} at the start,
  {results.load[1]:.1f} at the end), so expect noise: read medians and worsts, never one run.
- Versions: {packages}.
- AWS: moto in server mode on 127.0.0.1 with the faithful EC2 simulator (ec2sim), so every
  call is a real HTTP round trip. DescribeNetworkInterfaces round trip: median
  {millis(median(trips))}, worst {millis(worst(trips))} ({len(trips)} calls).
- EC2 latencies: {settings.latencies.describe()}. AWS publishes
  none; these are in the range field reports give. A fixed 2 s detach polled every 0.5 s is
  seen almost the moment it ends, which flatters a fixed-interval poller; hence the spread.
  Every way of moving the interface gets the same draws for the same run number.
- The project's tuning ({which}, `eni_failover.config.Tuning`): poll interval
  {tuning.poll_interval_seconds:g} s, detach grace {tuning.detach_grace_seconds:g} s, swap
  deadline {tuning.swap_deadline_seconds:g} s, {tuning.api_max_attempts} attempts per call.
  Rows marked with a {settings.short_poll_seconds:g} s poll change only the poll interval."""


def _summary(results: Results) -> str:
    latencies = results.settings.latencies
    drill, failed = results.swap("drill"), results.swap("failed")
    drill_fast, failed_fast = results.swap("drill-fast"), results.swap("failed-fast")
    lines = [
        "## Summary",
        "",
        service_report.summary_line(results.service),
        "",
        *(
            [service_report.soak_line(results.service.soak), ""]
            if results.service.soak is not None
            else []
        ),
        f"- **Failed primary** (what the alarm reports; the project forces the detach at "
        f"once): the interface is attached on the standby "
        f"{seconds(median(_attached(failed)))} after the trigger (median; worst "
        f"{seconds(worst(_attached(failed)))}), {seconds(median(_overshoot(failed)), 3)} over "
        "the floor.",
        f"- **Normal detach** (a drill; detach ~{latencies.detach:g} s, attach "
        f"~{latencies.attach:g} s): attached after {seconds(median(_attached(drill)))} "
        f"(median), {seconds(median(_overshoot(drill)), 3)} over the floor (worst "
        f"{seconds(worst(_overshoot(drill)), 3)}).",
        "- **Overshoot target, under 0.3 s**: with the default "
        f"{drill.tuning.poll_interval_seconds:g} s poll, {_verdict(drill)} for a normal detach "
        f"and {_verdict(failed)} for a failed primary; with a "
        f"{drill_fast.tuning.poll_interval_seconds:g} s poll, {_verdict(drill_fast)} and "
        f"{_verdict(failed_fast)} respectively.",
    ]
    project = median(_attached(drill))
    for key in ("waiter", "sleep", "no-wait"):
        way = results.way(key)
        if way is not None:
            attached = [r.attached for r in way.runs if r.attached is not None]
            lines.append(
                f"- {way.way.title}: {seconds(median(attached))} (median), "
                f"{median(attached) / project:.2f}x the project's time."
            )
    lines.append(scale_report.summary_line(results.scale))
    lines.append(noise_report.summary_line(results.noise))
    cold = results.cold
    lines.append(
        f"- **Cold start** (this machine, not Lambda): handler import "
        f"{seconds(median(list(cold.row('handler').samples)))} against "
        f"{seconds(median(list(cold.row('floor').samples)))} for boto3 + Powertools alone; "
        f"first event {seconds(median(list(cold.row('first').samples)))}, a warm one "
        f"{seconds(median(list(cold.row('second').samples)))}. Lambda asset "
        f"{cold.asset.zipped_bytes / 1024:.0f} KiB zipped."
    )
    state_change, alarm = results.detection
    swap, swap_worst = median(_attached(failed)), worst(_attached(failed))
    _, state_typical, state_high = state_change.totals()
    _, alarm_typical, alarm_high = alarm.totals()
    lines.append(
        "- **End to end** (detection modelled from AWS's documentation, plus the measured "
        f"swap): a stopped or terminated primary ~{state_typical + swap:.0f} s (at most "
        f"~{state_high + swap_worst:.0f} s); a primary failing its status checks "
        f"~{alarm_typical + swap:.0f} s (at most ~{alarm_high + swap_worst:.0f} s), nearly all "
        "of it CloudWatch's one-minute status checks and alarm evaluation."
    )
    return "\n".join(lines)


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else (many or one + 's')}"


def _verdict(result: ScenarioResult) -> str:
    overshoots = _overshoot(result)
    middle, top = median(overshoots), worst(overshoots)
    if top < TARGET_OVERSHOOT:
        word = "met in every run"
    elif middle < TARGET_OVERSHOOT:
        word = "met at the median"
    else:
        word = "missed"
    return f"{word} (median {seconds(middle, 3)}, worst {seconds(top, 3)})"


# -- 1. swap time -----------------------------------------------------------------------


def _swap_section(results: Results) -> str:
    rows = [
        [
            result.scenario.title,
            f"{result.tuning.poll_interval_seconds:g} s",
            str(len(result.runs)),
            seconds(median(result.values(lambda r: r.floor))),
            seconds(median(_attached(result))),
            seconds(worst(_attached(result))),
            seconds(median(_overshoot(result)), 3),
            seconds(worst(_overshoot(result)), 3),
            seconds(median(result.values(lambda r: r.confirmed))),
            seconds(median(result.values(lambda r: r.returned))),
        ]
        for result in results.swaps
    ]
    overview = table(
        [
            "Scenario",
            "Poll",
            "Runs",
            "Floor (median)",
            "Attached: median",
            "worst",
            "Overshoot: median",
            "worst",
            "Handler saw it attached",
            "Handler returned",
        ],
        rows,
    )
    breakdown = table(
        [
            "Scenario",
            "Poll",
            "Trigger to detach accepted",
            "Detach (EC2)",
            "Detached to attach accepted",
            "Attach (EC2)",
            "Attached to handler saw it",
            "Then to handler returned",
        ],
        [_breakdown_row(result) for result in results.swaps],
    )
    runs = results.swap("drill").runs + results.swap("failed").runs
    before = median([float(r.calls_before_detach) for r in runs])
    after = median([float(r.calls_after_detached) for r in runs])
    extra = before + 1 + after - CAREFUL_SEQUENTIAL_CALLS
    grace = results.settings.tuning.detach_grace_seconds
    return f"""## 1. Swap time against the floor

From the handler receiving the trigger (the SNS event of the pair's status-check alarm,
given to the real Dispatcher: idempotency, lease, decision, swap, notification) to the
interface attached on the standby. "Attached" is the physical moment: when EC2 accepted
the attach, plus the attach latency, read off the simulator. The handler notices at its
next poll, then publishes the outcome and releases the lease; both times are shown too.

The floor is what no implementation could beat here: the EC2 latencies that apply plus
{FLOOR_ROUND_TRIPS:g} round trips at the median above (one to read where the interface is
attached, half of one each for the detach and the attach to reach EC2), even for a client
that knew the instant the detach finished. For a failed primary the latency that applies
is the forced detach's, since the project forces at once when the source is stopped or
impaired. For a detach that hangs on a primary that looks healthy it is the detach grace
({grace:g} s, a policy: a hung detach cannot be told from a slow one sooner) plus the
forced detach, and one more round trip.

{overview}

Where the time goes (medians; EC2's own latencies are the 4th and 6th columns):

{breakdown}

The overshoot is the work before the detach ({before:g} sequential calls: idempotency
record, lease, the interface, both instances, their status checks, the move journal) and,
once the detach has finished, the wait for the next poll plus {after:g} sequential calls
(the poll that sees it, the target's instance and status checks again, the attach). The
poll wait falls anywhere between zero and one poll interval, so the interval bounds the
overshoot. A careful mover needs {CAREFUL_SEQUENTIAL_CALLS} sequential calls (describe,
detach, describe, attach); the project makes {extra:g} more on the critical path, each one
round trip: a few milliseconds here, tens of milliseconds from Lambda to EC2."""


def _breakdown_row(result: ScenarioResult) -> list[str]:
    def mid(pick: Callable[[SwapRun], float]) -> str:
        return seconds(median(result.values(pick)), 3)

    return [
        result.scenario.title,
        f"{result.tuning.poll_interval_seconds:g} s",
        mid(lambda r: r.detach_requested),
        mid(lambda r: r.detach_done - r.detach_requested),
        mid(lambda r: r.attach_requested - r.detach_done),
        mid(lambda r: r.attached - r.attach_requested),
        mid(lambda r: r.confirmed - r.attached),
        mid(lambda r: r.returned - r.confirmed),
    ]


# -- 2. other tools' ways -------------------------------------------------------------


def _ways_section(results: Results) -> str:
    drill = results.swap("drill")
    project = median(_attached(drill))
    trip = median(list(results.round_trips))
    rows = [_project_way_row(results.swap(key), project) for key in ("drill", "drill-fast")]
    hung_notes = {
        "waiter": "not run: it never forces; after 10 polls 20 s apart it raises WaiterError "
        "(200 s)",
    }
    for key in ("sleep", "no-wait"):
        hung = results.way(key, hung=True)
        if hung is not None:
            [run] = hung.runs
            times = _count(run.report.rejected, "attach", "attaches")
            count = f" ({times} refused)" if run.report.rejected else ""
            hung_notes[key] = f"never moves: {run.report.error}{count}"
    for key in ("waiter", "sleep", "no-wait"):
        way = results.way(key)
        if way is None:
            continue
        attached = [r.attached for r in way.runs if r.attached is not None]
        floors = [r.drawn.detach + r.drawn.attach + FLOOR_ROUND_TRIPS * trip for r in way.runs]
        over = [a - f for a, f in zip(attached, floors, strict=True)]
        ec2_calls = [float(sum(r.calls.values())) for r in way.runs]
        refused = [float(r.report.rejected) for r in way.runs]
        rows.append(
            [
                way.way.title,
                f"{len(way.runs)}" + ("" if way.paired else " side by side"),
                seconds(median(attached)),
                seconds(worst(attached)),
                seconds(median(over), 3),
                f"{median(attached) / project:.2f}x",
                f"{median(ec2_calls):g}",
                f"{median(refused):g} (worst {worst(refused):g})",
                hung_notes.get(key, ""),
            ]
        )
    overview = table(
        [
            "Way",
            "Runs",
            "Attached: median",
            "worst",
            "Over the floor (median)",
            f"x the project ({drill.tuning.poll_interval_seconds:g} s poll)",
            "EC2 calls per move",
            "Attach calls refused",
            "With a hung detach",
        ],
        rows,
    )
    return f"""## 2. The same move, the ways other tools make it

Same simulator, same run, a primary that looks healthy and a normal detach (the way these
tools detach). Each way is a small re-implementation faithful to its pattern (see
`bench/comparators.py`): a plain `boto3.client("ec2")`, no check of the standby, no Force.
Its move starts when it is called, "attached" is the same physical moment as in section 1,
and every run checks that the interface ended on the standby. The waiter and sleep runs
spend their time asleep, so they ran side by side with the nominal latencies; the no-wait
runs ran one by one with the same per-run latencies as the project's. The last column is
one run each with a detach that hangs until forced (the project's answer is in section 1).

{overview}

{_no_wait_note(results)}

### One failover, hop by hop

For each way of moving, the run whose attach time is its way's median, drawn from this
run's numbers. The project's hops are measured, in seconds after the handler received the
trigger; the other tools' are in seconds after the way was called, with EC2's latencies as
drawn for that run and the way's own wait (its waiter, sleep or retries) between them.

{pictures.timelines(results.swaps, results.ways)}"""


def _no_wait_note(results: Results) -> str:
    way = results.way("no-wait")
    if way is None:
        return ""
    refused = median([float(r.report.rejected) for r in way.runs])
    return (
        "The no-wait loop comes closest to the floor because it asks again the moment EC2 "
        f"says no: {refused:g} refused attach calls per move (median) at loopback speed. In "
        "AWS each of them draws on the account's token bucket for mutating calls, which "
        "every other caller in the Region shares (section 5). The project stays within a "
        "poll interval of it with a few describes, and checks the standby before attaching. "
        "(The floor uses the median round trip, so a run with quicker ones can come in a few "
        "milliseconds under it.)"
    )


def _project_way_row(result: ScenarioResult, reference: float) -> list[str]:
    attached = _attached(result)
    calls = [
        float(sum(n for op, n in r.calls.items() if op.startswith("ec2:"))) for r in result.runs
    ]
    return [
        f"This project ({result.tuning.poll_interval_seconds:g} s poll)",
        str(len(result.runs)),
        seconds(median(attached)),
        seconds(worst(attached)),
        seconds(median(_overshoot(result)), 3),
        f"{median(attached) / reference:.2f}x",
        f"{median(calls):g}",
        "0",
        f"Force after the {result.tuning.detach_grace_seconds:g} s grace (section 1)",
    ]


# -- 3. API calls ---------------------------------------------------------------------


def _calls_section(results: Results) -> str:
    project_columns = [
        Column(
            f"Project, {title} ({s.tuning.poll_interval_seconds:g} s poll)",
            tuple(r.calls for r in s.runs),
        )
        for title, s in (
            ("drill", results.swap("drill")),
            ("drill", results.swap("drill-fast")),
            ("failed primary", results.swap("failed")),
        )
    ]
    columns = list(project_columns)
    for key in ("waiter", "sleep", "no-wait"):
        way = results.way(key)
        if way is not None:
            columns.append(Column(key, tuple(r.calls for r in way.runs)))
    rows = [
        [
            f"`{row.operation}`",
            "-" if row.minimum is None else str(row.minimum),
            *(cell.text() for cell in row.cells),
        ]
        for row in api_calls.call_rows(columns)
    ]
    rows.append(
        ["**EC2 in all**", str(sum(api_calls.MINIMUM.values()))]
        + [api_calls.totals(c, "ec2").text() for c in columns]
    )
    rows.append(["**All services**", "-"] + [api_calls.totals(c).text() for c in columns])
    counts = table(["Operation", "Minimum", *(c.title for c in columns)], rows)
    purposes = "\n".join(
        f"- `{row.operation}`: {row.purpose}"
        for row in api_calls.call_rows(project_columns)
        if row.purpose
    )
    retries = sum(
        sum(r.attempts.values()) - sum(r.calls.values()) for s in results.swaps for r in s.runs
    )
    return f"""## 3. AWS API calls per failover

Counted with botocore event hooks (`before-call`) on the caller's own clients, per move:
the median over the runs, with the range when runs differ. The minimum is what a careful
move cannot do without: a describe to find the attachment, the detach, a describe that
sees the interface available, the attach, a describe that sees it attached.

{counts}

What the project's calls are for:

{purposes}

The EC2 calls beyond the minimum are safety and polling: both instances and their status
checks before deciding (a flapping alarm must not move a healthy primary; the standby must
be fit to take the interface), the target checked again right before the attach (it may
have failed meanwhile), and one describe per poll interval while EC2 works. The DynamoDB
calls make a trigger count once however often it is delivered, and keep two triggers for
one pair from moving it at the same time. botocore retried {retries} calls in all these
runs (nothing throttles them here; section 5 does)."""


# -- 4. cold start --------------------------------------------------------------------


def _cold_section(results: Results) -> str:
    cold = results.cold
    steps = table(
        ["Step", "Median", "Worst"],
        [
            [row.title, seconds(median(list(row.samples)), 3), seconds(worst(list(row.samples)), 3)]
            for row in cold.rows
        ],
    )
    handler = median(list(cold.row("handler").samples))
    floor = median(list(cold.row("floor").samples))
    first = median(list(cold.row("first").samples))
    second = median(list(cold.row("second").samples))
    asset = cold.asset
    return f"""## 4. Cold start

Fresh interpreters, {cold.repetitions} repetitions of each step, round robin. Imports are
timed inside the process; the first row is a whole process. Tracing is off (outside Lambda
there is no X-Ray segment to write to), but the Tracer is created and the X-Ray SDK
imported, as in Lambda. The events run against the emulated endpoint with no EC2 latency,
so their time is code and round trips.

{steps}

- The handler's import costs {seconds(handler - floor, 3)} over the floor: the project's own
  modules, mostly pydantic building the configuration, trigger and request models.
- The first event costs {seconds(first - second, 3)} more than the second: reading and
  validating the settings, creating four clients (botocore loads each service's model) and
  opening the first connections.
- Lambda asset (lambda/ as `Code.from_asset` ships it, without `__pycache__`):
  {asset.files} files, {asset.raw_bytes / 1024:.0f} KiB, {asset.zipped_bytes / 1024:.0f} KiB
  zipped. boto3 comes with the runtime and Powertools (with pydantic and the X-Ray SDK)
  from the public layer, so neither is in it.
- This machine is not a Lambda sandbox. At the function's 256 MB Lambda gives a fraction
  of a vCPU (one vCPU at 1,769 MB: [Lambda memory]({LAMBDA_MEMORY_DOCS})), and its runtime
  is Python 3.13 where this ran {results.machine.python}. Expect CPU-bound import time there
  to be several times these figures; the Init Duration in the function's REPORT log line
  gives the real one."""


# -- 5. scale -------------------------------------------------------------------------


def _scale_section(results: Results) -> str:
    return scale_report.section(results.scale)


# -- 6. detection ---------------------------------------------------------------------


def _detection_section(results: Results) -> str:
    failed = results.swap("failed")
    swap, swap_worst = median(_attached(failed)), worst(_attached(failed))
    blocks = []
    end_to_end = []
    for path in results.detection:
        low, typical, high = path.totals()
        stages = table(
            ["Stage", "Least", "Typical", "Most", "Basis", "Source"],
            [
                [
                    stage.name,
                    seconds(stage.low, 1),
                    seconds(stage.typical, 1),
                    seconds(stage.high, 1),
                    ("documented" if stage.documented else "assumed") + f": {stage.basis}",
                    f"[docs]({stage.source})",
                ]
                for stage in path.stages
            ]
            + [
                [
                    "**Failure to handler started**",
                    *(f"**{seconds(v, 0)}**" for v in (low, typical, high)),
                    "",
                    "",
                ]
            ],
        )
        blocks.append(f"### {path.trigger}\n\nCovers: {path.covers}.\n\n{stages}")
        end_to_end.append(
            [
                path.trigger,
                f"{seconds(low, 0)} / {seconds(typical, 0)} / {seconds(high, 0)}",
                f"{seconds(swap)} / {seconds(swap_worst)}",
                f"~{seconds(typical + swap, 0)}",
                f"~{seconds(high + swap_worst, 0)}",
            ]
        )
    paths = "\n\n".join(blocks)
    combined = table(
        [
            "Trigger",
            "Detection: least / typical / most",
            "Swap: median / worst",
            "Failure to interface on the standby: typical",
            "at most",
        ],
        end_to_end,
    )
    return f"""## 6. Detection, modelled

How long from the failure until the handler runs, per trigger, from AWS's documented
behaviour; where AWS publishes no figure the stage says "assumed". Nothing here is
measured: the emulator has no CloudWatch evaluation and no EventBridge delivery.

{paths}

### End to end

Detection plus the measured swap for a failed primary (section 1, default tuning, Force at
once: both triggers mean a primary that is stopped or impaired). Not included: the guest
OS bringing the interface up on the standby (Amazon Linux does it within seconds; other
images need configuring), the delay before a status-check datapoint reaches CloudWatch
(not published), a Lambda cold start (section 4), and round trips from Lambda to EC2,
which are longer than on loopback.

{combined}

The same end to end, per failure kind, next to the other tools' ways of moving given the
same detection (their move as measured in section 2, with a normal detach; for a failed
primary their detach may hang, and then they never move):

{pictures.end_to_end(results.detection, failed, results.ways)}

A primary that is stopped or terminated publishes no status-check data, so its alarm never
fires (TreatMissingData "missing"); the state-change rule covers it, within seconds. A
primary that keeps running but fails its checks is the alarm's: about two minutes with the
default two evaluation periods, of which the swap is a small part. One evaluation period
would save a minute at the price of failing over on a single bad datapoint."""


def _limits() -> str:
    return """## What these numbers are not

- EC2's latencies are the simulator's, chosen from field reports; AWS publishes none, and a
  detach on an unhealthy instance can take minutes (the hung-detach rows).
- Round trips are loopback to an in-process moto server; from Lambda to EC2 they are tens
  of milliseconds, and every sequential call pays one (sections 1 and 3).
- moto and the benchmark share one Python process; on a busy two-core machine the worst
  runs carry scheduling noise.
- Timings are reported, never asserted. The benchmark fails only if an interface did not
  move, moved twice, or operators were not told exactly once."""
