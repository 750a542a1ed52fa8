"""Ctrl-C during a move or a drill: the command says what it left and what finishes it.

Against the sandbox the CLI runs the function's code in its own process, so Ctrl-C stops
the move where it was. Ctrl-C is a KeyboardInterrupt raised in the command's own thread
right after EC2 took the detach (the sandbox's own function, answering the alarm in its
thread, is never interrupted), plus one real SIGINT to a real `eni-failover` process.
"""

from __future__ import annotations

import getpass
import io
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from eni_failover import ec2
from eni_failover.pair_record import HOLDER_CLI, LeaseHolder, PairRecords
from eni_failover_cli import deployment, drill
from eni_failover_cli.console import Console
from eni_failover_cli.errors import ExitCode
from eni_failover_cli.main import main
from tests.cli.conftest import PAIR, Ran, RunningSandbox, wait_for

REPOSITORY = Path(__file__).resolve().parents[2]


def interrupt_after_detach(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Ctrl-C right after EC2 takes the next detach made in the command's thread; the
    attachment IDs it interrupted after."""
    detach = ec2.detach
    interrupted: list[str] = []

    def detach_then_ctrl_c(client: Any, attachment_id: str, *, force: bool) -> None:
        detach(client, attachment_id, force=force)
        if threading.current_thread() is threading.main_thread() and not interrupted:
            interrupted.append(attachment_id)
            raise KeyboardInterrupt

    monkeypatch.setattr(ec2, "detach", detach_then_ctrl_c)
    return interrupted


def gone_pid() -> int:
    """The pid of a process that has exited: what an interrupted CLI leaves behind."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def as_a_process_that_exits(monkeypatch: pytest.MonkeyPatch) -> int:
    """The next command's local run is named as a process that is gone by the time the
    rerun looks (the tests run every command in this one, living, process)."""
    pid = gone_pid()
    holder = LeaseHolder(kind=HOLDER_CLI, host=socket.gethostname(), pid=pid, user="alice")
    monkeypatch.setattr(deployment, "this_process", lambda: holder)
    return pid


def finish_command(ran: Ran) -> list[str]:
    """The command the interrupted command said finishes the move (its last line)."""
    line = ran.err.strip().splitlines()[-1].strip()
    assert line.startswith("eni-failover "), ran.err
    return shlex.split(line)[1:]


def run_line(arguments: list[str]) -> Ran:
    """A command line exactly as printed (it names the sandbox itself)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(arguments, console=Console(stdout=out, stderr=err))
    return Ran(code, out.getvalue(), err.getvalue())


def test_ctrl_c_mid_failover_says_where_the_interface_is_and_the_command_that_finishes_it(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = sandbox.sandbox.topology
    eni, primary = topology.interface_id, topology.primary_instance_id
    interrupted = interrupt_after_detach(monkeypatch)
    gone = as_a_process_that_exits(monkeypatch)
    # When the operator presses Ctrl-C right after EC2 took the failover's detach
    ran = sandbox.run("failover", PAIR, "--force")
    # Then the command exits as interrupted, saying the move was cut short where it was
    assert interrupted, "the move never detached"
    assert ran.code == 130, ran.err  # ExitCode.INTERRUPTED, as a shell reports SIGINT
    assert f"interrupted: the failover of pair {PAIR} was cut short" in ran.err
    assert f"mid-move, {eni} serving no one" in ran.err
    # And where the interface is: still detaching from the primary, or attached to nothing
    [where] = [line for line in ran.err.splitlines() if line.lstrip().startswith("interface")]
    assert eni in where
    assert f"on primary {primary} at device index 1 (detaching)" in where or (
        "ATTACHED TO NOTHING" in where
    ), where
    # And whose lease it leaves, taken over once this process has exited
    assert f"a CLI run (alice on host {socket.gethostname()}, process {gone})" in ran.err
    # And the exact command that finishes it, with the sandbox it ran on
    assert finish_command(ran) == [f"--sandbox={sandbox.path}", "failover", PAIR, "--force"]
    # And nothing was announced: the move has no outcome yet
    assert sandbox.notifications() == []

    # When the operator looks at the pair
    status = sandbox.run("status", PAIR)
    # Then the interface is flagged as serving no one, and the lease as left behind
    assert status.code == 0, status.err
    assert f"SERVED BY NO INSTANCE: {eni}" in status.out
    assert "LEFT BEHIND" in status.out
    assert f"process {gone}) since" in status.out
    assert "that process is gone" in status.out

    # When they run the command it gave, as a new process would
    monkeypatch.undo()
    rerun = run_line(finish_command(ran))
    # Then it takes the lease over at once, finishes the move, and says so
    assert rerun.code == 0, rerun.err
    assert sandbox.where() == topology.standby_instance_id
    assert f"Failover of pair {PAIR}: SWAPPED" in rerun.out
    assert "(resumed an interrupted move)" in rerun.out
    assert f"taken over from a CLI run (alice on host {socket.gethostname()}, process {gone})" in (
        rerun.out
    )
    assert PairRecords(sandbox.sandbox.clients.dynamodb, sandbox.table).read(PAIR).lease is None


def test_a_rerun_while_the_interrupted_run_lives_is_told_whose_run_holds_the_pair(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = sandbox.sandbox.topology
    interrupt_after_detach(monkeypatch)
    # Given a failover interrupted in this process, which still runs
    ran = sandbox.run("failover", PAIR, "--force", "--json")
    assert ran.code == ExitCode.INTERRUPTED, ran.err
    # (--json: the same facts as a document)
    document = ran.json()
    assert document["exit_code"] == ExitCode.INTERRUPTED
    assert (document["interrupted"], document["move"], document["move_goes_on"]) == (
        True,
        "failover",
        False,
    )
    assert document["left"]["unserved"] == [topology.interface_id]
    assert document["left"]["lease"]["pid"] == os.getpid()
    assert document["finish"].endswith(f"failover {PAIR} --force")

    # When the operator runs it again at once, from this same living process
    rerun = sandbox.run("failover", PAIR, "--force")
    # Then nothing moved: the lease of a live run is never taken
    assert rerun.code == ExitCode.REFUSED, rerun.err
    assert sandbox.where() != topology.standby_instance_id
    # And it says whose run holds the pair, since and until when, and what to do; never
    # that the request will be retried
    user = getpass.getuser()
    assert (
        f"nothing moved: pair {PAIR} is being moved by a CLI run ({user} on host "
        f"{socket.gethostname()}, process {os.getpid()}) since "
    ) in rerun.err
    assert "lease until" in rerun.err
    assert "a request from the CLI is never retried" in rerun.err
    assert "once its process has exited" in rerun.err
    assert "will be retried" not in rerun.err
    # And it is what docs/operating.md shows, the run's user, host and pid aside
    from tests.cli.test_readme import live_holder_sample, shows  # noqa: PLC0415 - it imports us

    as_in_the_guide = rerun.err.replace(
        f"{user} on host {socket.gethostname()}, process {os.getpid()})",
        "alice on host ops, process 7985)",
    )
    assert shows(as_in_the_guide, live_holder_sample()), rerun.err
    # And `status` shows that lease as held, not left behind
    status = sandbox.run("status", PAIR)
    assert "lease         HELD" in status.out
    assert "LEFT BEHIND" not in status.out


def test_ctrl_c_mid_drill_leaves_a_drill_entry_saying_where_it_left_the_pair(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = sandbox.sandbox.topology
    # Given Ctrl-C while the drill waits for the function, once the move has begun
    poll = drill._Watch.poll

    def poll_then_ctrl_c(watch: drill._Watch) -> bool:
        done = poll(watch)
        if watch.hops.keys() & {"detaching", "floating", "attaching", "attached"}:
            raise KeyboardInterrupt
        return done

    monkeypatch.setattr(drill._Watch, "poll", poll_then_ctrl_c)
    # When the operator drills the pair
    ran = sandbox.run("drill", PAIR, "--yes", "--by", "alice")
    # Then it exits as interrupted, saying the function goes on with the failover
    assert ran.code == ExitCode.INTERRUPTED, ran.err
    assert f"the drill of pair {PAIR} stopped while waiting for the function's failover" in (
        ran.err
    )
    assert f"the failover of pair {PAIR} goes on" in ran.err
    assert "Where each interface and address is now:" in ran.err
    # And how to end the drill once the move has landed
    assert ran.err.strip().endswith(f"eni-failover --sandbox={sandbox.path} failback {PAIR}")
    # And the drill window is closed and the alarm back to OK, as after any drill
    clients = sandbox.sandbox.clients
    assert PairRecords(clients.dynamodb, sandbox.table).read(PAIR).drill_until is None
    [alarm] = clients.cloudwatch.describe_alarms(AlarmNames=[sandbox.alarm_name])["MetricAlarms"]
    assert alarm["StateValue"] == "OK"
    # And the history has the drill, interrupted, with where it left the interface
    assert wait_for(lambda: sandbox.where() == topology.standby_instance_id)
    history = sandbox.run("history", PAIR, "--json").json()["entries"]
    [entry] = [e for e in history if e["action"] == "drill"]
    assert (entry["outcome"], entry["by"]) == ("interrupted", "alice")
    assert "stopped while waiting for the function's failover" in entry["summary"]
    [left] = entry["addresses"]
    assert left.startswith(f"{topology.interface_id}: ")
    shown = sandbox.run("history", PAIR)
    # (the column's width depends on whether the function's failover is listed yet)
    assert re.search(r"  drill\s+interrupted\s+-\s+alice  ", shown.out), shown.out


def test_ctrl_c_during_the_drills_failback_says_it_was_cut_short_and_leaves_an_entry(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = sandbox.sandbox.topology
    # Given Ctrl-C right after the drill's own failback (run in this process) detached
    interrupt_after_detach(monkeypatch)
    # When the operator drills the pair and it fails back
    ran = sandbox.run("drill", PAIR, "--yes", "--by", "alice")
    # Then the failback was cut short where it was, and the command finishes it
    assert ran.code == ExitCode.INTERRUPTED, ran.err
    assert f"interrupted: the drill's failback of pair {PAIR} was cut short" in ran.err
    assert finish_command(ran) == [f"--sandbox={sandbox.path}", "failback", PAIR]
    # And the history has the drill that moved, then its failback interrupted
    history = sandbox.run("history", PAIR, "--json").json()["entries"]
    drills = [e for e in history if e["action"] == "drill"]
    assert [e["outcome"] for e in drills] == ["interrupted", "moved"]  # newest first
    entry = drills[0]
    assert "the drill's failback of pair demo was cut short" in entry["summary"]
    assert any(topology.interface_id in line for line in entry["addresses"])


def test_a_real_sigint_mid_failover_says_what_it_left(sandbox: RunningSandbox) -> None:
    topology = sandbox.sandbox.topology
    ec2_client = sandbox.sandbox.clients.ec2
    env = {**os.environ, "PYTHONPATH": f"{REPOSITORY / 'lambda'}{os.pathsep}{REPOSITORY}"}
    # When an operator's `eni-failover failover` gets SIGINT as the interface comes off
    command = [sys.executable, "-m", "eni_failover_cli", f"--sandbox={sandbox.path}"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [*command, "failover", PAIR, "--force"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPOSITORY,
        # A shell's background job ignores SIGINT; an operator's terminal does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    moving = wait_for(
        lambda: process.poll() is not None or _detached(ec2_client, topology.interface_id),
        seconds=60,
    )
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert moving, err
    # Then it exits 130 and says where the interface is and what finishes the move
    assert process.returncode == ExitCode.INTERRUPTED, err
    assert f"interrupted: the failover of pair {PAIR} was cut short" in err
    assert topology.interface_id in err
    assert err.strip().endswith(f"--sandbox={sandbox.path} failover {PAIR} --force")
    # And its lease, left by a process now gone, is taken over by the command it gave
    rerun = run_line(shlex.split(err.strip().splitlines()[-1])[1:])
    assert rerun.code == 0, rerun.err
    assert sandbox.where() == topology.standby_instance_id


def _detached(client: Any, interface_id: str) -> bool:
    view = ec2.describe_interfaces(client, [interface_id])[interface_id]
    return view.attachment is None or view.attachment.status == "detaching"
