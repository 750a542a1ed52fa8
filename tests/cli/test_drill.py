"""`eni-failover drill`: the real alarm path, end to end on the sandbox, then failback.

set-alarm-state -> the bridge publishes CloudWatch's alarm message to the trigger topic ->
SNS delivers to the stand-in subscription -> the bridge hands it to the real handler ->
the interface moves to the standby -> the drill sees each hop and fails back.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from eni_failover.pair_record import PairRecords
from eni_failover_cli import main as cli_main
from eni_failover_cli.console import Console
from eni_failover_cli.drill import HOPS
from eni_failover_emulator import drill as embedded
from tests.cli.conftest import PAIR, RunningSandbox


def test_drill_moves_through_the_alarm_and_fails_back(sandbox: RunningSandbox) -> None:
    topology = sandbox.sandbox.topology
    # Given a healthy, armed pair
    # When the operator drills it and agrees to fail back
    ran = sandbox.run("drill", PAIR, "--yes", "--by", "alice")
    # Then the drill passed: each hop is on the timeline, in order, with its time
    assert ran.code == 0, ran.err
    assert "readiness: READY" in ran.out
    assert re.search(rf"\+0\.00 s\s+alarm {sandbox.alarm_name} set to ALARM", ran.out)
    assert re.search(r"\+\d+\.\d\d s\s+.* attached to the standby", ran.out)
    assert re.search(r"\+\d+\.\d\d s\s+outcome recorded by the function: swapped", ran.out)
    assert "Drill passed: the interface was on the standby" in ran.out
    # And it went through the real alarm path: CloudWatch's message, then the function
    assert any(
        f"alarm {sandbox.alarm_name}: OK -> ALARM; CloudWatch message published" in line
        for line in sandbox.narration
    )
    assert any("function invoked with SNS message" in line for line in sandbox.narration)
    # And the failback brought the interface home
    assert "Failback of pair demo: SWAPPED" in ran.out
    assert sandbox.where() == topology.primary_instance_id
    # And the pair is as it was: no drill window, the alarm back to OK
    clients = sandbox.sandbox.clients
    assert PairRecords(clients.dynamodb, sandbox.table).read(PAIR).drill_until is None
    [alarm] = clients.cloudwatch.describe_alarms(AlarmNames=[sandbox.alarm_name])["MetricAlarms"]
    assert alarm["StateValue"] == "OK"
    # And the operators heard of both moves, the first one caused by the drill's alarm
    notifications = sandbox.notifications()
    assert [n["Subject"] for n in notifications] == [
        f"ENI failover {PAIR}: moved to standby {topology.standby_instance_id}",
        f"ENI failover {PAIR}: moved to primary {topology.primary_instance_id}",
    ]
    assert "eni-failover drill by alice" in notifications[0]["Message"]


def test_drill_as_json_without_failback(sandbox: RunningSandbox) -> None:
    ran = sandbox.run("--json", "drill", PAIR, "--no-failback")
    assert ran.code == 0, ran.err
    result = ran.json()
    assert result["moved"] is True
    assert result["failback"] is None
    assert result["outcome"]["outcome"] == "swapped"
    hops = [h["hop"] for h in result["hops"]]
    assert [h for h in HOPS if h in hops] == hops  # in the order they happen
    assert {"alarm set", "attached", "outcome"} <= set(hops)
    seconds = [h["seconds"] for h in result["hops"]]
    assert seconds == sorted(seconds)
    assert sandbox.where() == sandbox.sandbox.topology.standby_instance_id


def test_drill_asks_before_failing_back_and_a_script_gets_no(sandbox: RunningSandbox) -> None:
    # Given no terminal to answer (the test's stdin)
    ran = sandbox.run("drill", PAIR)
    # Then the drill does not fail back, and says how to
    assert ran.code == 0, ran.err
    assert "Not failing back" in ran.out
    assert f"eni-failover failback {PAIR}" in ran.out
    assert sandbox.where() == sandbox.sandbox.topology.standby_instance_id


def test_drill_fails_back_when_the_operator_says_yes(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def answer(question: str) -> str:
        questions.append(question)
        return "y"

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", answer)
    ran = sandbox.run("drill", PAIR)
    assert ran.code == 0, ran.err
    assert questions == [
        f"Fail back to the primary {sandbox.sandbox.topology.primary_instance_id} now? [y/N] "
    ]
    assert sandbox.where() == sandbox.sandbox.topology.primary_instance_id


def test_a_pair_that_is_not_ready_is_not_drilled(sandbox: RunningSandbox) -> None:
    standby = sandbox.sandbox.topology.standby_instance_id
    sandbox.sandbox.sim.set_status(standby, instance="impaired")
    ran = sandbox.run("drill", PAIR)
    assert ran.code == 2
    assert "readiness: NOT READY" in ran.out
    assert "drill anyway with --force" in ran.err
    # Nothing was touched
    [alarm] = sandbox.sandbox.clients.cloudwatch.describe_alarms(AlarmNames=[sandbox.alarm_name])[
        "MetricAlarms"
    ]
    assert alarm["StateValue"] == "OK"


def test_a_forced_drill_that_the_function_refuses_says_why(sandbox: RunningSandbox) -> None:
    # Given an impaired standby, drilled anyway
    standby = sandbox.sandbox.topology.standby_instance_id
    sandbox.sandbox.sim.set_status(standby, instance="impaired")
    ran = sandbox.run("drill", PAIR, "--force", "--yes")
    # Then the function refuses the move, and the drill reports it and exits 1
    assert ran.code == 1
    assert "outcome recorded by the function: refused" in ran.out
    assert "Drill FAILED: the function's outcome was refused" in ran.out
    assert "impaired status check" in ran.out
    assert "Nothing moved, so there is nothing to fail back." in ran.out
    assert sandbox.where() == sandbox.sandbox.topology.primary_instance_id


def test_a_drill_that_sees_no_outcome_in_time_fails(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SNS's delivery to the function is lost
    deliveries = sandbox.sandbox.bridge.deliveries

    def lose() -> list[Any]:
        deliveries_queue = deliveries._queue_url
        sandbox.notifications()
        from eni_failover_emulator.delivery import drain  # noqa: PLC0415

        drain(sandbox.sandbox.clients.sqs, deliveries_queue)
        return []

    monkeypatch.setattr(deliveries, "poll", lose)
    # When the operator drills with a short timeout
    ran = sandbox.run("drill", PAIR, "--timeout", "1")
    # Then the drill fails, says where to look, and cleans up
    assert ran.code == 3
    assert "Drill FAILED: no outcome within 1 s" in ran.out
    assert (
        PairRecords(sandbox.sandbox.clients.dynamodb, sandbox.table).read(PAIR).drill_until is None
    )


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        (["pause", PAIR], "is paused"),
        (["failover", PAIR, "--force"], "not on the primary"),
    ],
)
def test_drill_refuses_a_pair_it_cannot_drill(
    sandbox: RunningSandbox, prepare: list[str], expected: str
) -> None:
    assert sandbox.run(*prepare).code == 0
    ran = sandbox.run("drill", PAIR)
    assert ran.code == 1
    assert expected in ran.err


def test_drill_refuses_an_alarm_already_in_alarm(sandbox: RunningSandbox) -> None:
    sandbox.sandbox.clients.cloudwatch.disable_alarm_actions(AlarmNames=[sandbox.alarm_name])
    sandbox.sandbox.clients.cloudwatch.set_alarm_state(
        AlarmName=sandbox.alarm_name, StateValue="ALARM", StateReason="really failing"
    )
    sandbox.sandbox.clients.cloudwatch.enable_alarm_actions(AlarmNames=[sandbox.alarm_name])
    ran = sandbox.run("drill", PAIR)
    assert ran.code == 1
    assert "is in ALARM already (really failing)" in ran.err


def test_drill_needs_a_pair_unless_local(sandbox: RunningSandbox) -> None:
    ran = sandbox.run("drill")
    assert ran.code == 4
    assert "drill needs a PAIR" in ran.err


# --- drill --local: the embedded demo drill (its own emulator; tested end to end in
# tests/integration/test_drill.py, here at the CLI's boundary) -----------------------------


@pytest.mark.parametrize(("moved", "code"), [(True, 0), (False, 3)])
def test_local_drill_runs_the_embedded_drill_and_reports_it(
    monkeypatch: pytest.MonkeyPatch, moved: bool, code: int
) -> None:
    def fake_drill(write: Any) -> embedded.DrillResult:
        write("[  0.00s] emulated AWS endpoint at http://127.0.0.1:1")
        return embedded.DrillResult(
            moved=moved, outcome={"outcome": "swapped"}, notification={"Subject": "x"}
        )

    monkeypatch.setattr(embedded, "run_drill", fake_drill)
    out = io.StringIO()
    exit_code = cli_main.main(["drill", "--local"], console=Console(stdout=out))
    assert exit_code == code
    assert "emulated AWS endpoint" in out.getvalue()
    assert ("Local drill passed." if moved else "Local drill FAILED.") in out.getvalue()

    as_json = io.StringIO()
    cli_main.main(["--json", "drill", "--local"], console=Console(stdout=as_json))
    assert '"moved": ' + ("true" if moved else "false") in as_json.getvalue()


def test_local_drill_is_of_the_embedded_pair_only() -> None:
    err = io.StringIO()
    code = cli_main.main(
        ["drill", "web", "--local"], console=Console(stdout=io.StringIO(), stderr=err)
    )
    assert code == 4
    assert "--local drills the embedded pair 'demo'" in err.getvalue()
