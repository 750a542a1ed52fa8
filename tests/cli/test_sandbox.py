"""`eni-failover sandbox up|down|inbox` as a user runs them, and the sandbox file's errors.

The background sandbox is a real separate process, on its own port, synthesizing the app
as an operator's does; it is always stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eni_failover.config import CONFIG_FILE_NAME
from eni_failover_cli.console import Console
from eni_failover_cli.main import COMMANDS, build_parser, main
from eni_failover_emulator.sandbox import _check_template_is_for
from eni_failover_emulator.sandbox_file import SandboxError
from eni_failover_emulator.template import packaged_config
from tests.cli.conftest import PAIR, Ran, RunningSandbox

START_SECONDS = 120
# `sandbox up --stack` names the sandbox's stack, which the other commands then check.
BACKGROUND_STACK = "EniFailoverTry"  # bounded: a stuck start fails the test instead of hanging it


def cli(*arguments: str, cwd: Path, timeout: float = 60) -> Ran:
    """The command as a separate process, as from a shell."""
    completed = subprocess.run(  # noqa: S603 - this interpreter, this package
        [sys.executable, "-m", "eni_failover_cli", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "ENI_FAILOVER_SANDBOX"},
    )
    return Ran(completed.returncode, completed.stdout, completed.stderr)


def in_process(*arguments: str) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(arguments), console=Console(stdout=out, stderr=err))
    return Ran(code, out.getvalue(), err.getvalue())


@pytest.fixture
def background(running: RunningSandbox, tmp_path: Path) -> Iterator[tuple[Path, Ran]]:
    """`sandbox up --background` in tmp_path, stopped (and killed if need be) afterwards."""
    started = cli(
        "--sandbox",
        "sandbox",
        "up",
        "--background",
        f"--stack={BACKGROUND_STACK}",
        "--attach-seconds=0.1",
        "--detach-seconds=0.1",
        f"--wait={START_SECONDS}",
        cwd=tmp_path,
        timeout=START_SECONDS + 30,
    )
    file = tmp_path / ".eni-failover-sandbox.json"
    pid = json.loads(file.read_text())["pid"] if file.exists() else None
    try:
        yield file, started
    finally:
        cli("--sandbox", "sandbox", "down", cwd=tmp_path)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_background_sandbox_serves_other_processes_until_stopped(
    background: tuple[Path, Ran], running: RunningSandbox
) -> None:
    file, started = background
    cwd = file.parent
    # Given `sandbox up --background` returned
    assert started.code == 0, started.err + started.out
    assert "ENI Failover sandbox is up" in started.out
    assert f"export ENI_FAILOVER_SANDBOX={file}" in started.out
    info = json.loads(file.read_text())
    # And it built the same pair as any sandbox (seeded IDs)
    assert info["pair"] == running.sandbox.info.pair.model_dump(mode="json")
    assert info["endpoint"] != running.sandbox.endpoint
    # When another process asks for the status and a readiness check (the function's code
    # runs in that process, against the sandbox)
    assert info["stack_name"] == BACKGROUND_STACK
    status = cli("--sandbox", "--json", "--stack", BACKGROUND_STACK, "status", cwd=cwd)
    check = cli("check", PAIR, "--sandbox", cwd=cwd)
    # Then both answer from the sandbox
    assert status.code == 0, status.err
    assert status.json()["pairs"][0]["location"] == "primary"
    assert check.code == 0, check.err
    assert f"Pair {PAIR}: READY" in check.out
    # And a second sandbox on the same file is refused
    second = cli("--sandbox", "sandbox", "up", "--background", cwd=cwd)
    assert second.code == 4
    assert "a sandbox is already running" in second.err
    # When it is stopped, the process and the file are gone
    stopped = cli("--sandbox", "sandbox", "down", cwd=cwd)
    assert stopped.code == 0, stopped.err
    assert f"sandbox stopped (process {info['pid']})" in stopped.out
    assert not file.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(info["pid"], 0)
    # And the commands say so
    gone = cli("--sandbox", "status", cwd=cwd)
    assert gone.code == 4
    assert "no sandbox file at .eni-failover-sandbox.json" in gone.err
    assert "eni-failover sandbox up" in gone.err


def test_inbox_shows_what_the_notification_topic_sent(sandbox: RunningSandbox) -> None:
    sandbox.run("pause", PAIR, "--by", "alice")
    ran = sandbox.run("sandbox", "inbox")
    assert ran.code == 0, ran.err
    assert f"Subject: ENI failover {PAIR}: automatic failover paused by alice" in ran.out
    assert sandbox.run("sandbox", "inbox").out.strip() == "No new notifications."


PAUSED = f"Subject: ENI failover {PAIR}: automatic failover paused by alice"


def test_inbox_peek_shows_without_taking(sandbox: RunningSandbox) -> None:
    # Given a notification in the inbox
    sandbox.run("pause", PAIR, "--by", "alice")
    # When the operator peeks, twice
    first, second = (
        sandbox.run("sandbox", "inbox", "--peek"),
        sandbox.run("sandbox", "inbox", "--peek"),
    )
    # Then both show it, and say it was kept
    for peeked in (first, second):
        assert peeked.code == 0, peeked.err
        assert PAUSED in peeked.out
        assert "kept" in peeked.out
    # And taking it afterwards still shows it, once
    assert PAUSED in sandbox.run("sandbox", "inbox").out
    assert sandbox.run("sandbox", "inbox").out.strip() == "No new notifications."


class ClosedPipe(io.StringIO):
    """stdout whose reader has gone (`eni-failover sandbox inbox | head -0`)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_broken_pipe_takes_no_notification(sandbox: RunningSandbox) -> None:
    # Given a notification in the inbox
    sandbox.run("pause", PAIR, "--by", "alice")
    # When the inbox is read into a pipe whose reader has gone
    err = io.StringIO()
    code = main(
        [f"--sandbox={sandbox.path}", "sandbox", "inbox"],
        console=Console(stdout=ClosedPipe(), stderr=err),
    )
    # Then the command ends quietly
    assert code == 0
    assert "Traceback" not in err.getvalue()
    # And the notification nobody saw is still there for the next reader
    assert PAUSED in sandbox.run("sandbox", "inbox").out


def test_stack_must_match_the_sandbox(sandbox: RunningSandbox) -> None:
    # When a command names another stack than the sandbox runs
    ran = sandbox.run("--stack", "Production", "status")
    # Then it is refused, saying which stack the sandbox runs and how to reach the other
    assert ran.code == 4
    assert "--stack Production" in ran.err
    assert "runs the stack EniFailover" in ran.err
    assert "leave out --sandbox" in ran.err
    # And the sandbox's own stack name is accepted, before or after the command
    assert sandbox.run("--stack", "EniFailover", "status").code == 0
    assert sandbox.run("status", "--stack=EniFailover").code == 0


def test_the_sandbox_file_may_follow_the_option_after_a_space(sandbox: RunningSandbox) -> None:
    # When the file follows --sandbox after a space, before the command
    ran = in_process("--sandbox", str(sandbox.path), "--json", "status")
    # Then it is the sandbox file, not an "invalid choice" of command
    assert ran.code == 0, ran.err
    assert ran.json()["where"].startswith(f"sandbox {sandbox.path}")


def test_a_file_after_the_command_is_taken_too(sandbox: RunningSandbox) -> None:
    # When a sandbox file follows --sandbox after the command, where a plain word would be
    # a PAIR (a pair name has no '.' or '/', so a file name is no pair)
    ran = in_process("status", "--sandbox", str(sandbox.path), "--json")
    # Then it is the sandbox file
    assert ran.code == 0, ran.err
    assert ran.json()["where"].startswith(f"sandbox {sandbox.path}")
    # And a pair name there stays the PAIR, with the default sandbox file
    assert in_process("status", "--sandbox", PAIR).err.startswith("eni-failover: no sandbox file")


def test_the_sandbox_file_can_come_from_the_environment(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENI_FAILOVER_SANDBOX", str(sandbox.path))
    ran = in_process("status", "--json")
    assert ran.code == 0, ran.err
    assert ran.json()["where"].startswith(f"sandbox {sandbox.path}")


def test_a_stale_sandbox_file_is_reported_and_down_clears_it(
    running: RunningSandbox, tmp_path: Path
) -> None:
    # Given a sandbox file whose process has gone (a process that ran and exited)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    file = tmp_path / "sandbox.json"
    stale = running.sandbox.info.model_copy(update={"pid": int(gone.stdout)})
    file.write_text(stale.model_dump_json())
    # Then the commands say it is not running
    ran = in_process(f"--sandbox={file}", "status")
    assert ran.code == 4
    assert "is not running (process" in ran.err
    # And `down` removes the file
    down = in_process(f"--sandbox={file}", "sandbox", "down")
    assert down.code == 0
    assert "was not running; removed" in down.out
    assert not file.exists()


def test_down_stops_nothing_but_a_sandbox(running: RunningSandbox, tmp_path: Path) -> None:
    # Given a sandbox file naming a live process that is not a sandbox (a recycled PID)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        file = tmp_path / "sandbox.json"
        file.write_text(
            running.sandbox.info.model_copy(update={"pid": other.pid}).model_dump_json()
        )
        ran = in_process(f"--sandbox={file}", "sandbox", "down")
        assert ran.code == 4
        assert "is not an eni-failover sandbox" in ran.err
        time.sleep(0.2)
        assert other.poll() is None  # still running
        assert not file.exists()
    finally:
        other.kill()
        other.wait()


def test_down_will_not_stop_its_own_process(running: RunningSandbox) -> None:
    ran = in_process(f"--sandbox={running.path}", "sandbox", "down")
    assert ran.code == 4
    assert "runs in this very process" in ran.err
    assert running.path.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "no sandbox file at"), ("{not json", "is not a sandbox file of this version")],
)
def test_a_missing_or_broken_sandbox_file_is_named(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    file = tmp_path / "sandbox.json"
    if content is not None:
        file.write_text(content)
    ran = in_process(f"--sandbox={file}", "check")
    assert ran.code == 4
    assert expected in ran.err
    assert str(file) in ran.err


def test_a_template_for_other_instances_is_refused(running: RunningSandbox, tmp_path: Path) -> None:
    # Given a template whose packaged pairs name another standby
    template = json.loads(json.dumps(running.sandbox.template))
    config = packaged_config(template)
    [pair] = config.pairs
    other = config.model_copy(
        update={"pairs": (pair.model_copy(update={"standby_instance_id": "i-0fedcba9876543210"}),)}
    )
    (tmp_path / CONFIG_FILE_NAME).write_text(other.model_dump_json())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            resource["Metadata"]["aws:asset:path"] = str(tmp_path)
    with pytest.raises(SandboxError, match="synthesized for other IDs"):
        _check_template_is_for(template, running.sandbox.topology, PAIR)


def test_the_commands_the_sandbox_flag_knows_are_the_parser_s() -> None:
    # `--sandbox FILE` tells a file from a command by this list: it must not drift
    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(commands.choices) == COMMANDS
