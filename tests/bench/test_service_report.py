"""The service-stop part of the report, and `--only service` updating a report in place."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import service_report
from bench.__main__ import main
from bench.service_report import SECTION_HEADING, SOAK_START, SUMMARY_START, splice
from bench.service_stop import INTERFACE, MOVE_KINDS, ServiceStopResult, ServiceStopRun
from bench.settings import Drawn
from bench.soak import SoakResult
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


def result(usable: float, *, forced: bool = False) -> ServiceStopResult:
    """Ten runs of each way for each kind, the address usable on the standby `usable` s after
    the service stopped, and a soak that moved nothing."""
    runs = tuple(
        ServiceStopRun(
            kind=kind.key,
            way=way,
            drawn=Drawn(detach=2.0, attach=1.0, force=0.5),
            phase=1.0,
            failed_probes=(1.0, 3.0, 5.0),
            trigger_sent=5.1,
            handler_started=5.2,
            moved=5.3,
            usable=usable,
            returned=usable + 0.1,
            forced=forced if kind is INTERFACE else None,
        )
        for kind in MOVE_KINDS
        for way in ("refused", "hung")
        for _ in range(10)
    )
    return ServiceStopResult(
        probing=Probing(),
        runs=runs,
        seconds=200.0,
        started_at=datetime(2026, 11, 29, 20, 0, tzinfo=UTC),
        load=(1.0, 1.5),
        soak=SoakResult(
            probing=Probing(),
            seconds=600.0,
            lost=0.1,
            slow=0.1,
            slow_seconds=0.8,
            service_probes=300,
            served={"answered": 480, "lost": 60, "slow": 60},
            triggers=0,
            deliveries=0,
            moves=0,
            failover=runs[0],
        ),
    )


def test_the_summary_line_gives_every_kind_against_its_goal_and_aws_hops_beside() -> None:
    line = service_report.summary_line(result(5.5))
    assert line.startswith(f"{SUMMARY_START} from the service's last answer to the address")
    assert "median / worst of 20 runs per kind (10 refused and 10 hung)" in line
    # The probing as the settings object has it, whatever its defaults are
    assert service_report.probing_text(Probing()) in line
    # Each kind against its goal, computed: 5.5 s meets the interface's 6 s, not the 5 s
    assert "interface 5.5 s / 5.5 s (goal 6 s: met;" in line
    for kind in ("route", "Elastic IP", "secondary IP"):
        assert f"{kind} 5.5 s / 5.5 s (goal 5 s: not met;" in line
    assert "goal 5 s: met" in service_report.summary_line(result(4.0))
    assert "What AWS adds, modelled" in line


def test_the_soak_line_gives_the_counts_and_the_chance_of_a_trigger() -> None:
    soak = result(5.5).soak
    assert soak is not None
    line = service_report.soak_line(soak)
    assert line.startswith(f"{SOAK_START} 0 triggers and 0 moves in 10.0 minutes")
    assert "300 probes of its service" in line
    assert "losing 10% of the probes and answering 10% at 0.8 s" in line
    failures = Probing().failures
    assert f"p = 0.1 lost and F = {failures} failures" in line
    assert f"p^(F-1) = {0.1 ** (failures - 1):.2g}" in line
    assert f"{soak.expected_triggers():.2g} triggers expected" in line


def test_the_section_says_what_the_runs_saw_of_the_detach() -> None:
    assert "In none of the 20 interface runs did the function force" in (
        service_report.section(result(5.5))
    )
    assert "In every interface run (20) the function forced the detach" in (
        service_report.section(result(5.5, forced=True))
    )


def test_splicing_adds_the_line_and_the_section_then_replaces_them() -> None:
    # Given a report written before the service-stop part existed
    once = splice(REPORT, result(8.5))
    # Then the line opens the summary, the section comes before the limits, and both say
    # they were measured on their own
    lines = once.splitlines()
    assert lines[lines.index("## Summary") + 2].startswith(SUMMARY_START)
    assert lines[lines.index("## Summary") + 4].startswith(SOAK_START)
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
    assert [line for line in twice.splitlines() if line.startswith(SOAK_START)] == [
        service_report.soak_line(result(9.5).soak, apart=True)  # type: ignore[arg-type]
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
