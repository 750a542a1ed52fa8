"""The failback benchmark's code path, with near-zero latencies: correctness, not timing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.failback import main


@pytest.mark.slow
def test_the_failback_benchmark_fails_back_at_the_end_of_the_hold_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the smoke settings (near-zero EC2 latencies), so the run takes seconds
    monkeypatch.setattr("bench.failback.BenchSettings.quick", _smoke)
    out = tmp_path / "failback.md"
    # When the benchmark runs
    assert main(["--quick", "--out", str(out)]) == 0
    # Then each run failed back at the 6th sweep (window opened at the 1st, 300 s later)
    report = out.read_text()
    assert "the 6th after the repair" in report
    assert "Repaired to back on the primary, typical" in report


def _smoke() -> object:
    from bench.settings import BenchSettings  # noqa: PLC0415

    return BenchSettings.smoke()
