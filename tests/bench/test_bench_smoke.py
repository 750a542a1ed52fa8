"""The benchmarks' code paths, run with near-zero latencies: correctness only, never timing.

`make bench` takes minutes; this walks every measurement in seconds so that a change to
the function, the emulator or the simulator cannot silently break the benchmark.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import noise_report, scale
from bench.__main__ import main
from bench.report import SECTIONS
from bench.run import Results, run_all, run_noise_only
from bench.settings import BenchSettings
from eni_failover.observed import InterfaceView
from eni_failover.outcome import Outcome, OutcomeKind
from eni_failover.triggers import Trigger, TriggerKind


@pytest.fixture(scope="module")
def results() -> Results:
    # run_all raises BenchmarkFailed if any interface did not move, or moved twice.
    return run_all(BenchSettings.smoke(), progress=lambda _: None)


@pytest.mark.slow
def test_every_swap_moved_once_and_its_timeline_is_in_order(results: Results) -> None:
    for scenario in results.swaps:
        assert len(scenario.runs) == scenario.scenario.runs
        for run in scenario.runs:
            assert run.calls["ec2:AttachNetworkInterface"] == 1
            assert (
                0
                < run.detach_requested
                <= run.detach_done
                <= run.attach_requested
                < run.attached
                <= run.returned
            )
            assert run.calls_before_detach >= 1
            assert run.calls_after_detached >= 2  # at least the poll and the attach


@pytest.mark.slow
def test_the_project_forces_exactly_when_it_should(results: Results) -> None:
    for run in results.swap("failed").runs:
        assert run.forced
        assert run.calls["ec2:DetachNetworkInterface"] == 1  # Force at once, nothing to escalate
    for run in results.swap("hung").runs:
        assert run.forced
        assert run.calls["ec2:DetachNetworkInterface"] == 2  # normal, then Force after the grace
    for run in results.swap("drill").runs:
        assert not run.forced
        assert run.calls["ec2:DetachNetworkInterface"] == 1


@pytest.mark.slow
def test_other_tools_ways_move_the_interface_but_not_past_a_hung_detach(
    results: Results,
) -> None:
    for key in ("waiter", "sleep", "no-wait"):
        way = results.way(key)
        assert way is not None
        assert all(run.moved and run.attached is not None for run in way.runs)
        assert all(run.calls["ec2:AttachNetworkInterface"] >= 1 for run in way.runs)
    for key in ("sleep", "no-wait"):
        hung = results.way(key, hung=True)
        assert hung is not None
        [run] = hung.runs
        assert not run.moved
        assert run.attached is None
        assert run.report.rejected >= 1
    no_wait = results.way("no-wait")
    assert no_wait is not None
    for run in no_wait.runs:
        assert run.calls["ec2:AttachNetworkInterface"] == run.report.rejected + 1


@pytest.mark.slow
def test_scale_moves_every_pair_exactly_once(results: Results) -> None:
    failing = BenchSettings.smoke().scale_pairs
    assert results.scale.configured == BenchSettings.smoke().scale_configured
    assert [(w.key, w.pairs) for w in results.scale.alone] == [
        (f"alone-{n}", 1) for n in range(1, scale.ALONE_RUNS + 1)
    ]
    assert [(w.key, w.pairs) for w in results.scale.waves] == [
        ("wave", failing),
        ("wave-unshared", failing),
        ("alone-real-time", 1),
        ("wave-real-time", failing),
    ]
    for wave in (*results.scale.alone, *results.scale.waves):
        assert len(wave.attached) == wave.pairs
        assert wave.swapped_notifications == wave.pairs
        assert wave.calls["ec2:AttachNetworkInterface"] == wave.pairs
        # Every EC2 request the function sent reached the simulator, retries included.
        sent = sum(n for op, n in wave.attempts.items() if op.startswith("ec2:"))
        assert sent == sum(wave.ec2_requests.values())
    # Shared, the wave's describes stay within EC2's buckets.
    assert not results.scale.wave("wave").throttled


@pytest.mark.slow
def test_cold_start_measures_every_step(results: Results) -> None:
    cold = results.cold
    for row in cold.rows:
        assert len(row.samples) == cold.repetitions
        assert all(sample > 0 for sample in row.samples)
    assert 0 < cold.asset.zipped_bytes < cold.asset.raw_bytes
    assert cold.asset.files > 1


@pytest.mark.slow
def test_a_stopped_service_moved_the_interface_once_per_run_hop_after_hop(
    results: Results,
) -> None:
    # run_all raised BenchmarkFailed unless each run sent one probe trigger, swapped once and
    # notified once; here the times must make a timeline, for each way the service stops
    service = results.service
    assert {run.way for run in service.runs} == {"refused", "hung"}
    assert len(service.runs) == 2 * BenchSettings.smoke().runs
    for run in service.runs:
        assert 0 <= run.phase <= service.probing.interval_seconds
        assert len(run.failed_probes) == service.probing.failures
        assert list(run.failed_probes) == sorted(run.failed_probes)
        assert (
            run.failed_probes[-1]
            < run.trigger_sent
            < run.handler_started
            < run.detach_requested
            < run.attached
            <= run.returned
        )
        assert run.detection + run.move == pytest.approx(run.attached)


@pytest.mark.slow
def test_the_command_writes_the_report_with_every_section_and_no_machine_path(
    results: Results,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a run's measurements (the smoke run's: not measured again)
    monkeypatch.setattr("bench.__main__.run_all", lambda settings, progress: results)
    report = tmp_path / "docs" / "benchmarks.md"

    # When `python -m bench` finishes, told where the report goes
    assert main(["--quick", "--out", str(report)]) == 0

    # Then the report is in that file, printed too, and the command said where it is
    text = report.read_text()
    out, err = capsys.readouterr()
    assert out == f"{text}\n"
    assert err.endswith(f"wrote {report}\n")
    # And it has every section, says what kind of run it was, and names no machine path
    for heading in SECTIONS:
        assert heading in text
    # And the service-stop figure is one summary line of its own
    [line] = [line for line in text.splitlines() if line.startswith("Service stops answering:")]
    assert f"median of {len(results.service.runs)} runs" in line
    assert "smoke run" in text  # a smoke report says it is not one to quote
    assert str(Path.cwd()) not in text
    assert str(Path.home()) not in text


def test_a_failed_outcome_reads_back_as_where_the_interface_was_left() -> None:
    # Given the notification operators get when a throttled invocation gives up mid-move
    trigger = Trigger(
        trigger_id="t-1",
        kind=TriggerKind.ALARM,
        source="nat-status",
        instance_id="i-0123456789abcdef0",
        state="ALARM",
        is_failure=True,
        reason="status check failed",
        occurred_at=datetime(2026, 11, 26, tzinfo=UTC),
        account_id="123456789012",
        region="us-east-1",
    )
    outcome = Outcome(
        kind=OutcomeKind.FAILED,
        pair="nat",
        direction="failover",
        trigger=trigger,
        from_instance_id="i-0123456789abcdef0",
        to_instance_id="i-0fedcba9876543210",
        interfaces=(InterfaceView(interface_id="eni-0123456789abcdef0", exists=True),),
        started_at=trigger.occurred_at,
        finished_at=trigger.occurred_at,
        error="DescribeNetworkInterfaces failed: RequestLimitExceeded: Request limit exceeded.",
    )

    # Then the scale benchmark reports its error and that the interface was left detached
    assert scale.failure_summary(outcome.body()) == (
        "DescribeNetworkInterfaces failed: RequestLimitExceeded: Request limit exceeded. "
        "(interface left detached)"
    )


def test_runs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--runs", "0"])
    assert exited.value.code == 2
    assert "error: --runs must be at least 1" in capsys.readouterr().err


def test_a_wave_of_unrelated_stops_never_reaches_a_configured_stacks_function() -> None:
    # Given the noise benchmark's runs (smoke: a wave of 20), which raise if any unrelated
    # event reached the configured stack's function or the pair did not move
    result = run_noise_only(BenchSettings.smoke(), progress=lambda _: None)
    # Then none of the wave reached it, every run moved the pair, and the report says so
    assert result.reached == 0
    assert len(result.alone) == len(result.with_wave) == result.runs
    assert result.state_rules == 1
    # And a stack of tagged pairs got every one of them, and moved nothing for them
    assert result.tagged_reached == result.wave == 20
    assert "none of the wave reached the function" in noise_report.summary_line(result)
    assert noise_report.section(result).startswith(noise_report.SECTION_HEADING)
