"""The service-stop part of the report, and `--only service` updating a report in place."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import service_report
from bench.__main__ import main
from bench.service_report import SECTION_HEADING, SUMMARY_START, splice
from bench.service_stop import ServiceStopResult, ServiceStopRun
from bench.settings import Drawn
from eni_failover.config import Probing

REPORT = """# Benchmarks

Written by `make bench`.

## Summary

- **Failed primary**: 1.65 s.

## 6. Detection, modelled

Nothing measured.

## What these numbers are not

- Not AWS.
"""


def result(attached: float) -> ServiceStopResult:
    """Runs of each way, the service back on the standby `attached` s after it stopped."""
    runs = tuple(
        ServiceStopRun(
            way=way,
            drawn=Drawn(detach=2.0, attach=1.0, force=0.5),
            phase=1.0,
            failed_probes=(1.0, 3.0, 5.0),
            trigger_sent=5.1,
            handler_started=5.2,
            detach_requested=5.3,
            attached=attached,
            returned=attached + 0.1,
        )
        for way in ("refused", "hung")
        for _ in range(10)
    )
    return ServiceStopResult(
        probing=Probing(),
        runs=runs,
        seconds=200.0,
        started_at=datetime(2026, 11, 29, 20, 0, tzinfo=UTC),
        load=(1.0, 1.5),
    )


def test_the_summary_line_states_the_end_to_end_median_and_the_target() -> None:
    line = service_report.summary_line(result(8.5))
    assert line.startswith(f"{SUMMARY_START} the interface is attached on the standby 8.5 s")
    assert "median of 20 runs" in line
    assert "detection 5.2 s, the move 3.3 s" in line
    # (the stack's default probing, which the line states)
    assert "every 1 s, 1 s timeout, 5 failures in a row" in line
    assert "15 s or less: met" in line
    assert "15 s or less: MISSED" in service_report.summary_line(result(16.0))


def test_splicing_adds_the_line_and_the_section_then_replaces_them() -> None:
    # Given a report written before the service-stop part existed
    once = splice(REPORT, result(8.5))
    # Then the line opens the summary, the section comes before the limits, and both say
    # they were measured on their own
    lines = once.splitlines()
    assert lines[lines.index("## Summary") + 2].startswith(SUMMARY_START)
    assert once.index(SECTION_HEADING) < once.index("## What these numbers are not")
    assert once.count("measured on its own, 2026-11-29 20:00 UTC") == 2
    assert "- **Failed primary**: 1.65 s." in once
    # When it is spliced again with a newer run
    twice = splice(once, result(9.5))
    # Then each appears once, with the newer numbers
    assert twice.count(SECTION_HEADING) == 1
    assert [line for line in twice.splitlines() if line.startswith(SUMMARY_START)] == [
        service_report.summary_line(result(9.5), apart=True)
    ]
    assert "8.50 s" not in twice
    assert twice.endswith("- Not AWS.\n")


def test_only_the_service_part_needs_a_report_to_update(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--only", "service", "--out", str(tmp_path / "none.md")]) == 2
    assert "run the whole benchmark first" in capsys.readouterr().err


def test_only_the_service_part_updates_the_report_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "benchmarks.md"
    report.write_text(REPORT)
    monkeypatch.setattr("bench.__main__.run_service_only", lambda settings, progress: result(8.5))
    assert main(["--only", "service", "--out", str(report)]) == 0
    assert report.read_text() == splice(REPORT, result(8.5))
