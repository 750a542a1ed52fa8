"""Section 8 of docs/benchmarks.md: a wave of unrelated instances stopping with a pair's
primary, and its summary line."""

from __future__ import annotations

from bench.lab import median
from bench.markdown import seconds, table
from bench.noise import DELIVERY_THREADS, TARGET_DELAY_SECONDS, NoiseResult
from bench.splicing import splice_part

SECTION_HEADING = "## 8. A wave of unrelated instances stopping"
SUMMARY_START = "- **A wave of unrelated stops**"


def summary_line(result: NoiseResult) -> str:
    verdict = "met" if result.met else "NOT met"
    return (
        f"{SUMMARY_START} ({result.wave} instances of no pair stop with a pair's primary): "
        f"the pair's failover took {seconds(result.delay)} longer than alone (median of "
        f"{result.runs}; target at most {seconds(TARGET_DELAY_SECONDS)}, {verdict}); none of "
        "the wave reached the function, whose rules list the configured primaries."
    )


def section(result: NoiseResult) -> str:
    rows = [
        ["alone", *(seconds(s) for s in result.alone), seconds(median(list(result.alone)))],
        [
            f"with {result.wave} unrelated stops",
            *(seconds(s) for s in result.with_wave),
            seconds(median(list(result.with_wave))),
        ],
    ]
    headers = ["the pair's primary stops", *(f"run {n + 1}" for n in range(result.runs)), "median"]
    return "\n".join(
        [
            SECTION_HEADING,
            "",
            f"A Spot interruption or a scale-in wave: {result.wave} instances that are in no "
            "pair stop in the same moment as a pair's primary. The stack is synthesized for "
            f"its pairs, and its {result.state_rules} state-change rule(s), which list the "
            "configured primaries (`detail.instance-id`), are applied as EventBridge applies "
            "them (moto's pattern matching); the wave's events and the pair's, last, are put "
            f"at once from {DELIVERY_THREADS} threads. Time runs from the wave's start until "
            "the interface is on the standby (EC2 latencies nominal).",
            "",
            table(headers, rows),
            "",
            f"The wave adds **{seconds(result.delay)}** (target at most "
            f"{seconds(TARGET_DELAY_SECONDS)}): {result.reached} of its events reached the "
            f"function, and the runs with it made {result.wave_ec2_requests} EC2 requests, "
            f"the runs alone {result.alone_ec2_requests} (the moves, the benchmark's stop and "
            "check). What the wave costs is the rules' matching, before any Lambda.",
            "",
            "**Pairs declared by tags** cannot be listed in a rule, so a stack with "
            "`discovery=tags` keeps one rule for every instance, and the wave reaches the "
            f"function: here {result.tagged_reached} invocations, "
            f"{result.tagged_ec2_requests} EC2 requests in all (the function drops a stranger "
            "from its cached discovery and looks at the tags again at most every 5 s), "
            f"{seconds(result.tagged_function_seconds)} of function time in this process, one "
            "after another. In Lambda each is an invocation of its own: with the default "
            f"reservation of that stack ({result.tagged_reservation} executions), a wave "
            "arriving faster than they finish is throttled, and Lambda retries throttled "
            "events with a backoff of up to 5 minutes, the pair's event among them. So a "
            "pair that must not wait behind such a wave belongs in `pairs` (configured), "
            "not only in tags; or give a tagged stack a larger `reservedConcurrency`.",
        ]
    )


def splice(report: str, result: NoiseResult) -> str:
    """The report with this part's summary line and section replaced (or added)."""
    return splice_part(
        report,
        summary_starts=(SUMMARY_START,),
        summary=summary_line(result),
        section_start=SECTION_HEADING,
        section=section(result),
        before="## What these numbers are not",
    )
