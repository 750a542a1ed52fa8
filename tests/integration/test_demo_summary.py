"""`make demo` ends with its summary: where the interface and the Elastic IP are, and the
subject of what the operators were told, just above the verdict."""

from __future__ import annotations

import re

from eni_failover_emulator.drill import Narrator

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
