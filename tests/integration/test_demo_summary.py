"""`make demo` ends with its summary: where the interface and the Elastic IP are, and the
subject of what the operators were told, just above the verdict."""

from __future__ import annotations

import re

import pytest

from emulator.drill import PAIR_NAME, Narrator, run_drill

INDENT = " " * 11


def test_the_summary_repeats_the_last_place_and_subject_seen() -> None:
    # Given a narrator that has shown where things are and a notification
    lines: list[str] = []
    narrator = Narrator(lines.append)
    narrator.where = "eni-1: attached to i-2 (the standby)\nElastic IP 203.0.113.7: on eni-1"
    narrator.subject = "ENI failover web: moved to standby i-2"
    # When it summarizes
    narrator.summarize()
    # Then the summary is those, in that order
    assert re.fullmatch(r"\[ *\d+\.\d\ds\] summary:", lines[0])
    assert lines[1].splitlines() == [
        f"{INDENT}eni-1: attached to i-2 (the standby)",
        f"{INDENT}Elastic IP 203.0.113.7: on eni-1",
        f"{INDENT}notification subject: ENI failover web: moved to standby i-2",
    ]


def test_a_summary_with_nothing_seen_says_so() -> None:
    lines: list[str] = []
    Narrator(lines.append).summarize()
    assert "where the interface is: not seen" in lines[1]
    assert "notification subject: (no notification received)" in lines[1]


@pytest.mark.slow
def test_the_demo_ends_with_its_summary_then_its_verdict() -> None:
    # Given the whole demo
    lines: list[str] = []
    result = run_drill(lines.append)
    # Then its last lines are the summary and the verdict, nothing machine-readable after
    output = "\n".join(lines).splitlines()
    heading = max(i for i, line in enumerate(output) if line.endswith("] summary:"))
    interface, address, subject, verdict = output[heading + 1 :]
    assert "attached to" in interface
    assert "(the standby)" in interface
    assert address.strip().startswith("Elastic IP ")
    assert subject.strip().startswith(f"notification subject: ENI failover {PAIR_NAME}: moved")
    assert "drill passed" in verdict
    assert result.moved
