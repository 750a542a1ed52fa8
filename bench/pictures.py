"""Pictures for docs/benchmarks.md, drawn from the run's own numbers.

They are mermaid blocks (`gantt`, `xychart-beta`): GitHub and most Markdown viewers draw
them, the numbers stay readable in the Markdown source and in a diff, and the benchmark
needs no plotting library.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

from bench.comparators import WayResult, WayRun
from bench.detection import DetectionPath
from bench.lab import median
from bench.swap_time import ScenarioResult, SwapRun

# Short names for the charts' axes; the tables use the ways' full titles.
WAY_LABELS = {"waiter": "boto3 waiter", "sleep": "fixed sleep", "no-wait": "retry, no wait"}
PROJECT_LABEL = "This project"

Hop = tuple[str, float, float]  # name, start and end in seconds
_R = TypeVar("_R")


def timelines(swaps: Sequence[ScenarioResult], ways: Sequence[WayResult]) -> str:
    """One failover's timeline, hop by hop, for each way of moving: the project's scenarios
    and the other tools' ways (those that moved; a hung detach never moves for them)."""
    charts = []
    for result in swaps:
        if not result.runs:
            continue
        index, run = _median_run(result.runs, lambda r: r.attached)
        title = (
            f"{PROJECT_LABEL}, {result.scenario.title}, "
            f"{result.tuning.poll_interval_seconds:g} s poll (run {index + 1} of "
            f"{len(result.runs)}, the median)"
        )
        # A failed primary is forced at once: its detach never gets the chance to hang.
        scenario = result.scenario
        hung = scenario.detach_hangs and not scenario.source_failed
        charts.append(_gantt(title, project_hops(run, hung=hung)))
    for way in ways:
        moved = [r for r in way.runs if r.attached is not None]
        if way.hung or not moved:
            continue
        index, way_run = _median_run(moved, lambda r: r.attached or 0.0)
        title = f"{way.way.title} (run {index + 1} of {len(moved)}, the median)"
        charts.append(_gantt(title, way_hops(way_run)))
    return "\n\n".join(charts)


def project_hops(run: SwapRun, *, hung: bool = False) -> list[Hop]:
    """Seconds after the handler received the trigger, as measured."""
    detach = "Detach (EC2, hung, then forced)" if hung else "Detach (EC2, forced)"
    return [
        ("Trigger to detach accepted", 0.0, run.detach_requested),
        (detach if run.forced else "Detach (EC2)", run.detach_requested, run.detach_done),
        ("Detached to attach accepted", run.detach_done, run.attach_requested),
        ("Attach (EC2)", run.attach_requested, run.attached),
        ("Attached to the handler seeing it", run.attached, run.confirmed),
        ("Outcome published, lease released", run.confirmed, run.returned),
    ]


def way_hops(run: WayRun) -> list[Hop]:
    """Seconds after the way was called: EC2's latencies drawn for the run, and the way's
    own wait between them (its waiter, sleep or retries)."""
    attached = run.attached or 0.0
    attach_accepted = max(run.drawn.detach, attached - run.drawn.attach)
    return [
        ("Detach (EC2)", 0.0, run.drawn.detach),
        ("The way's wait until an attach is accepted", run.drawn.detach, attach_accepted),
        ("Attach (EC2)", attach_accepted, attached),
    ]


def end_to_end(
    detection: Sequence[DetectionPath], failed: ScenarioResult, ways: Sequence[WayResult]
) -> str:
    """Per failure kind, the typical time from the failure to the interface on the standby:
    the project's (detection plus its measured swap for a failed primary) next to the other
    tools' (the same detection plus their measured move)."""
    moves = [(PROJECT_LABEL, median([r.attached for r in failed.runs]))]
    for way in ways:
        attached = [r.attached for r in way.runs if r.attached is not None]
        if not way.hung and attached:
            moves.append((WAY_LABELS.get(way.way.key, way.way.key), median(attached)))
    charts = []
    for path in detection:
        _, typical, _ = path.totals()
        values = [typical + move for _, move in moves]
        top = _round_up(max(values) * 1.1)
        labels = ", ".join(f'"{_text(label)}"' for label, _ in moves)
        bars = ", ".join(f"{value:.1f}" for value in values)
        charts.append(
            "```mermaid\n"
            "xychart-beta\n"
            f'    title "{_text(path.trigger)}, failure to interface on the standby (typical)"\n'
            f"    x-axis [{labels}]\n"
            f'    y-axis "seconds" 0 --> {top:g}\n'
            f"    bar [{bars}]\n"
            "```"
        )
    return "\n\n".join(charts)


def _gantt(title: str, hops: Sequence[Hop]) -> str:
    lines = [
        "```mermaid",
        "gantt",
        f"    title {_text(title)}",
        "    dateFormat x",
        # Milliseconds on the axis; the hops' own durations are in their names.
        "    axisFormat %S.%L s" if hops[-1][2] < 60 else "    axisFormat %M:%S",
        "    section hops",
    ]
    for number, (name, start, until) in enumerate(hops, start=1):
        end = max(start, until)
        lines.append(
            f"    {_text(name)} {end - start:.3f} s :h{number}, "
            f"{round(start * 1000)}, {round(end * 1000)}"
        )
    lines.append("```")
    return "\n".join(lines)


def _median_run(runs: Sequence[_R], attached: Callable[[_R], float]) -> tuple[int, _R]:
    """The run whose attach time is nearest the median: one real failover, not a blend."""
    times = [attached(run) for run in runs]
    middle = median(times)
    index = min(range(len(runs)), key=lambda i: abs(times[i] - middle))
    return index, runs[index]


def _round_up(value: float) -> float:
    """A tidy top for a chart's axis: 1, 2 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def _text(text: str) -> str:
    """Mermaid reads ':' and ';' in a task as syntax, '#' as an entity, '"' as quoting."""
    return text.replace(":", " -").replace(";", ",").replace("#", "").replace('"', "'")
