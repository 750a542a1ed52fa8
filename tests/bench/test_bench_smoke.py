"""The benchmarks' code paths, run with near-zero latencies: correctness only, never timing.

`make bench` takes minutes; this walks every measurement in seconds so that a change to
the function, the emulator or the simulator cannot silently break the benchmark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import noise_report, scale
from bench.__main__ import main
from bench.lab import BenchmarkFailed, open_lab
from bench.report import SECTIONS
from bench.run import Results, run_all, run_noise_only
from bench.service_stop import MOVE_KINDS
from bench.settings import BenchSettings
from bench.soak import run_soak
from eni_failover.observed import InterfaceView
from eni_failover.outcome import Outcome, OutcomeKind
from eni_failover.triggers import Trigger, TriggerKind
from eni_failover_emulator.service import Loss


@dataclass(frozen=True)
class Measured:
    results: Results
    # What a soak whose every probe is lost (its service really is down) raised.
    down: BenchmarkFailed | None


@pytest.fixture(scope="module")
def measured() -> Measured:
    # One lab for both (opening one takes half a minute); the emulated AWS lives only
    # inside it, so everything that needs it runs here.
    with open_lab() as lab:
        # run_all raises BenchmarkFailed if any interface did not move, or moved twice, or
        # if the soak's lossy network made a trigger or a move.
        results = run_all(BenchSettings.smoke(), progress=lambda _: None, shared=lab)
        really_down = Loss(lost=1.0, slow=0.0, slow_seconds=0.0)
        try:
            run_soak(lab, BenchSettings.smoke(), lambda _: None, loss=really_down)
        except BenchmarkFailed as failed:
            return Measured(results, failed)
    return Measured(results, None)


@pytest.fixture(scope="module")
def results(measured: Measured) -> Results:
    return measured.results


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
def test_a_stopped_service_moved_each_kind_once_per_run_hop_after_hop(
    results: Results,
) -> None:
    # run_all raised BenchmarkFailed unless each run sent one probe trigger, moved once and
    # notified once; here every kind ran both ways, and the times make a timeline
    service, settings = results.service, BenchSettings.smoke()
    assert service.skipped == {}
    assert [kind.key for kind in service.kinds()] == [kind.key for kind in MOVE_KINDS]
    for kind in MOVE_KINDS:
        for way in ("refused", "hung"):
            assert len(service.of(way, kind.key)) == settings.service_runs
    for run in service.runs:
        assert 0 <= run.phase <= service.probing.interval_seconds
        assert len(run.failed_probes) == service.probing.failures
        assert list(run.failed_probes) == sorted(run.failed_probes)
        assert (
            run.failed_probes[-1] < run.trigger_sent < run.handler_started < run.moved <= run.usable
        )
        assert run.handler_started < run.returned
        assert run.detection + run.move == pytest.approx(run.usable)
        # An interface's detach is observed, forced or not; an address has none
        assert (run.forced is not None) == (run.kind == "interface")


@pytest.mark.slow
def test_a_lossy_network_made_no_trigger_and_no_move_then_the_service_failed_over(
    results: Results,
) -> None:
    soak = results.service.soak
    assert soak is not None
    settings = BenchSettings.smoke()
    # The network lost probes and slowed others, and still nothing happened
    assert set(soak.served) <= {"lost", "slow", "answered"}
    assert sum(soak.served.values()) >= soak.service_probes > 0
    assert (soak.triggers, soak.deliveries, soak.moves) == (0, 0, 0)
    assert soak.seconds >= settings.soak_seconds
    assert (soak.lost, soak.slow) == (settings.soak_lost, settings.soak_slow)
    # Then the service stopped and the interface moved, once, on the probe's trigger
    assert soak.failover.kind == "interface"
    assert soak.failover.way == "refused"
    assert soak.failover.trigger_sent < soak.failover.handler_started < soak.failover.usable


@pytest.mark.slow
def test_the_soak_fails_the_benchmark_when_a_trigger_comes(measured: Measured) -> None:
    # Given a soak whose service really is down behind the network: every probe lost
    # Then the benchmark failed, saying what the "healthy" pair did
    assert measured.down is not None
    assert "a healthy pair behind a lossy network failed over: 1 probe triggers" in str(
        measured.down
    )


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
    # And the service-stop figures and the soak's are one summary line each, in that order,
    # with numbers
    summary = text.split("## Summary", 1)[1].split("## 1.", 1)[0].splitlines()
    starts = ("Service stops answering:", "False failovers:")
    ours = [line for line in summary if line.startswith(starts)]
    assert [line.split(":", 1)[0] + ":" for line in ours] == list(starts)
    stops, soak = ours
    per_kind = 2 * BenchSettings.smoke().service_runs
    assert f"median / worst of {per_kind} runs per kind" in stops
    for kind in ("interface", "route", "Elastic IP", "secondary IP"):
        assert re.search(rf"{kind} \d+\.\d s / \d+\.\d s \(goal \d s: (met|not met)", stops)
    assert re.match(r"False failovers: 0 triggers and 0 moves in \d+\.\d minutes", soak)
    assert re.search(r"[\d.e-]+ triggers expected in this soak", soak)
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
