"""The address kinds' benchmark (`python -m bench.address_report`, run by `make bench`), with
near-zero latencies: the lines and the section are written, every address moved once and
ended on its standby. Correctness, never timing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import address_report
from bench.address_report import main
from bench.settings import BenchSettings

REPORT = """# Benchmarks

## Summary

- **Failed primary**: the interface is attached on the standby 1.64 s after the trigger.

## 1. Swap time against the floor

The interface's section.

## What these numbers are not

- Timings are reported, never asserted.
"""


def _smoke() -> BenchSettings:
    return BenchSettings.smoke()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> str:
    # Given a report `python -m bench` wrote, and the smoke settings (two pairs in the wave)
    out = tmp_path_factory.mktemp("bench") / "benchmarks.md"
    out.write_text(REPORT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BenchSettings, "quick", _smoke)
        # When the address benchmark runs (it raises if an address did not move, moved
        # twice, or a pair was not told "swapped" exactly once)
        assert main(["--quick", "--out", str(out)]) == 0
    return out.read_text()


@pytest.mark.slow
def test_each_kind_has_its_line_in_the_summary(written: str) -> None:
    summary = written.split("## Summary", 1)[1].split("## 1.", 1)[0]
    lines = summary.splitlines()
    starts = (
        "Route moved:",
        "Elastic IP moved:",
        "Secondary IP moved:",
        "Address wave:",
    )
    for start in starts:
        assert sum(line.startswith(start) for line in lines) == 1, start
    # in that order
    ours = [
        next(s for s in starts if line.startswith(s)) for line in lines if line.startswith(starts)
    ]
    assert tuple(ours) == starts
    # And the routes and Elastic IPs were measured moving to the other zone
    [route] = [line for line in lines if line.startswith("Route moved:")]
    assert "usable on the standby (in the other zone)" in route
    assert "over its floor" in route
    [eip] = [line for line in lines if line.startswith("Elastic IP moved:")]
    assert "usable on the standby (in the other zone)" in eip
    # And the interface's line and section are left as they were
    assert "- **Failed primary**: the interface is attached" in summary
    assert "The interface's section." in written


@pytest.mark.slow
def test_the_section_gives_the_floor_the_wave_and_the_simulator_it_ran_on(written: str) -> None:
    section = written.split(address_report.SECTION_START, 1)[1].split("## What these", 1)[0]
    assert "| Route | 2 |" in section
    assert "| Elastic IP | 2 |" in section
    assert "| the wave | 2 |" in section
    assert "| one pair alone | 1 |" in section
    assert "with ec2sim at " in section
    assert "Describe delays: " in section
    assert "ReplaceRoute" in section
    # And the service stopping per kind is section 7's, with the interface's
    assert "is in section 7" in section
    assert address_report.STOPS_LINE not in written
    # before the closing section, once
    assert written.index(address_report.SECTION_START) < written.index("## What these numbers")
    assert written.count(address_report.SECTION_START) == 1


@pytest.mark.slow
def test_a_second_run_replaces_the_lines_and_the_section(tmp_path: Path, written: str) -> None:
    out = tmp_path / "benchmarks.md"
    # an earlier report, with the per-kind service-stop line section 7 now gives
    earlier = written.replace(
        "## Summary\n", f"## Summary\n\n{address_report.STOPS_LINE} Route: 5.5 s.\n", 1
    )
    out.write_text(earlier)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BenchSettings, "quick", _smoke)
        assert main(["--quick", "--out", str(out)]) == 0
    again = out.read_text()
    assert again.count("Route moved:") == 1
    assert again.count(address_report.SECTION_START) == 1
    # and keeps them one block, in order, however the earlier report had them
    summary = again.split("## Summary", 1)[1].split("## 1.", 1)[0]
    ours = [line.split(" ", 1)[0] for line in summary.splitlines() if line and "moved:" in line]
    assert ours == ["Route", "Elastic", "Secondary"]
    assert summary.index("Secondary IP moved:") < summary.index("Address wave:")
    # and takes out the line an earlier version wrote for the service stopping per kind
    assert address_report.STOPS_LINE not in again
