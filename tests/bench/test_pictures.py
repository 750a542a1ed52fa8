"""docs/benchmarks.md's pictures are drawn from the run's own numbers: given numbers in,
the same numbers out, in mermaid charts."""

from __future__ import annotations

from collections import Counter

from bench.comparators import Way, WayReport, WayResult, WayRun
from bench.detection import DetectionPath, Stage
from bench.pictures import end_to_end, timelines
from bench.settings import Drawn
from bench.swap_time import Scenario, ScenarioResult, SwapRun
from eni_failover.config import Tuning

DRAWN = Drawn(detach=0.5, attach=1.0, force=0.25)


def swap_run(attached: float) -> SwapRun:
    """A failed primary's swap: detach forced at 0.010 s, attached at `attached`."""
    return SwapRun(
        drawn=DRAWN,
        floor=1.2,
        detach_requested=0.010,
        detach_done=0.260,
        attach_requested=attached - 1.0,
        attached=attached,
        confirmed=attached + 0.1,
        returned=attached + 0.15,
        forced=True,
        calls=Counter(),
        attempts=Counter(),
        calls_before_detach=7,
        calls_after_detached=4,
    )


FAILED = ScenarioResult(
    scenario=Scenario(
        "failed", "Failed primary, Force at once", True, False, poll_seconds=0.25, runs=3
    ),
    tuning=Tuning(),
    runs=(swap_run(1.40), swap_run(1.30), swap_run(1.90)),
)


def way_run(attached: float | None) -> WayRun:
    return WayRun(
        drawn=DRAWN,
        attached=attached,
        returned=(attached or 9.0) + 0.01,
        moved=attached is not None,
        report=WayReport(),
        calls=Counter(),
    )


def nothing(*_: object) -> WayReport:
    return WayReport()


SLEEP = WayResult(
    way=Way("sleep", "fixed sleep(5) after detach (keepalived notify)", nothing),
    runs=(way_run(6.0), way_run(6.5), way_run(7.0)),
    paired=False,
    hung=False,
)
SLEEP_HUNG = WayResult(way=SLEEP.way, runs=(way_run(None),), paired=False, hung=True)


def stage(typical: float) -> Stage:
    return Stage("a stage", 0.0, typical, 2 * typical, documented=True, basis="", source="")


STATE_CHANGE = DetectionPath("EC2 state change (EventBridge rule)", "stops", (stage(2.0),))
ALARM = DetectionPath("Status-check alarm", "fails its checks", (stage(60.0), stage(30.0)))


def test_each_way_has_one_failovers_timeline_hop_by_hop() -> None:
    # Given the project's runs and a comparator's, with a hung run that never moved
    # When the timelines are drawn
    drawn = timelines([FAILED], [SLEEP, SLEEP_HUNG])
    charts = drawn.split("\n\n")
    # Then there is one gantt per way that moved, each the median run
    assert len(charts) == 2
    project, sleep = charts
    assert project.startswith("```mermaid\ngantt\n")
    assert "    title This project, Failed primary, Force at once, 0.25 s poll (run 1 of 3" in (
        project
    )
    # with each hop's own numbers, in milliseconds from the trigger
    assert "    Trigger to detach accepted 0.010 s :h1, 0, 10" in project
    assert "    Detach (EC2, forced) 0.250 s :h2, 10, 260" in project
    assert "    Detached to attach accepted 0.140 s :h3, 260, 400" in project
    assert "    Attach (EC2) 1.000 s :h4, 400, 1400" in project
    assert "    Attached to the handler seeing it 0.100 s :h5, 1400, 1500" in project
    assert "    Outcome published, lease released 0.050 s :h6, 1500, 1550" in project
    # and the comparator's median run: its detach, its sleep, its attach
    assert "title fixed sleep(5) after detach (keepalived notify) (run 2 of 3, the median)" in (
        sleep
    )
    assert "    Detach (EC2) 0.500 s :h1, 0, 500" in sleep
    assert "    The way's wait until an attach is accepted 5.000 s :h2, 500, 5500" in sleep
    assert "    Attach (EC2) 1.000 s :h3, 5500, 6500" in sleep


def test_end_to_end_by_failure_kind_next_to_the_other_tools() -> None:
    # Given two failure kinds' detection, the project's swaps and a comparator's moves
    drawn = end_to_end([STATE_CHANGE, ALARM], FAILED, [SLEEP, SLEEP_HUNG])
    state_change, alarm = drawn.split("\n\n")
    # Then each kind has a bar chart: detection (typical) plus the median move, per tool
    assert state_change.startswith("```mermaid\nxychart-beta\n")
    assert '    x-axis ["This project", "fixed sleep"]' in state_change
    assert "    bar [3.4, 8.5]" in state_change  # 2 + 1.4 and 2 + 6.5
    assert '    y-axis "seconds" 0 --> 10' in state_change
    assert "    bar [91.4, 96.5]" in alarm  # 90 + 1.4 and 90 + 6.5
    assert "Status-check alarm, failure to interface on the standby (typical)" in alarm


def test_a_failed_primary_whose_detach_would_hang_is_drawn_forced_at_once() -> None:
    # Given the failed primary of the benchmark: the detach would hang, but Force comes first
    scenario = Scenario("failed", "Failed primary", True, True, poll_seconds=0.25, runs=1)
    result = ScenarioResult(scenario=scenario, tuning=Tuning(), runs=(swap_run(1.4),))
    # Then its detach is drawn as forced, not as hung
    drawn = timelines([result], [])
    assert "Detach (EC2, forced) 0.250 s" in drawn
    assert "hung" not in drawn
