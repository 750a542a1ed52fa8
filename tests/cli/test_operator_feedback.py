"""What the operator sees: the version, out-of-range values refused at once, the region
hint, colours only on a terminal (and never with NO_COLOR or --json), and a live line
while a command waits."""

from __future__ import annotations

import importlib.metadata
import io
import subprocess
import sys

import pytest

from eni_failover_cli.console import Console
from eni_failover_cli.deployment import connect_live
from eni_failover_cli.errors import CliError
from eni_failover_cli.main import main

ESCAPE = "\x1b["


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a shell's stdout does."""

    def isatty(self) -> bool:
        return True


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    # When the operator asks for the version
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    # Then it is the one pip installed, under the command's name
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"eni-failover {importlib.metadata.version('eni-failover')}\n"


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        (["drill", "demo", "--timeout", "-1"], "--timeout: expected a number of seconds greater "),
        (
            ["drill", "demo", "--window", "0"],
            "--window: expected a number of seconds greater than 0",
        ),
        (["drill", "demo", "--timeout", "nan"], "--timeout: expected a number of seconds"),
        (["drill", "demo", "--timeout", "soon"], "--timeout: expected a number of seconds"),
        (["sandbox", "up", "--wait", "0"], "--wait: expected a number of seconds greater than 0"),
        (["sandbox", "up", "--attach-seconds", "-0.5"], "--attach-seconds: expected a number of "),
        (["sandbox", "down", "--wait", "-3"], "--wait: expected a number of seconds greater than"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_out_of_range_values_are_refused_before_anything_happens(
    arguments: list[str],
    refusal: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a command that would fail the test if it reached AWS or a sandbox
    def must_not_connect(*_: object) -> None:
        pytest.fail("connected before the arguments were checked")

    monkeypatch.setattr("eni_failover_cli.main.connect", must_not_connect)
    # When a value is out of range
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    # Then argparse refuses it (exit 2), naming the option and the range
    assert exited.value.code == 2
    assert f"argument {refusal}" in capsys.readouterr().err


def test_in_range_values_are_numbers() -> None:
    from eni_failover_cli.main import build_parser  # noqa: PLC0415

    args = build_parser().parse_args(["drill", "demo", "--timeout", "30", "--window", "1e2"])
    assert (args.timeout, args.window) == (30.0, 100.0)


def test_the_region_hint_names_what_boto3_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no region anywhere boto3 looks, and AWS_REGION set (boto3 does not read it)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/eni-failover-test-config")
    # When the CLI connects
    with pytest.raises(CliError) as raised:
        connect_live("EniFailover", None)
    # Then the hint names the variables and the file boto3 really reads
    message = raised.value.message
    for named in ("--region", "AWS_DEFAULT_REGION", "AWS_PROFILE", "~/.aws/config"):
        assert named in message
    assert "AWS_REGION is set, but boto3 does not read it" in message


VERDICTS = "Pair web: READY\n  PASS  standby\nPair db: NOT READY\n  FAIL  interface\nPAUSED"


def test_verdicts_are_coloured_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a terminal and no NO_COLOR
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Terminal()
    # When a result is shown
    Console(stdout=out, stderr=io.StringIO()).result({}, VERDICTS)
    # Then READY and PASS are green, NOT READY and FAIL red, PAUSED yellow
    shown = out.getvalue()
    assert "\x1b[1;32mREADY" in shown
    assert "\x1b[1;32mPASS" in shown
    assert "\x1b[1;31mNOT READY" in shown
    assert "\x1b[1;31mFAIL" in shown
    assert "\x1b[1;33mPAUSED" in shown


@pytest.mark.parametrize(
    ("terminal", "no_color", "json_mode"),
    [(True, "1", False), (False, None, False), (True, None, True)],
    ids=["NO_COLOR", "not-a-terminal", "json"],
)
def test_no_colour_without_a_terminal_with_no_color_or_json(
    terminal: bool, no_color: str | None, json_mode: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given NO_COLOR, or a pipe, or --json
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    out = Terminal() if terminal else io.StringIO()
    # When a result is shown
    Console(json_mode=json_mode, stdout=out, stderr=io.StringIO()).result(
        {"verdict": "NOT READY"}, VERDICTS
    )
    # Then there is not one escape code
    assert ESCAPE not in out.getvalue()
    assert "NOT READY" in out.getvalue()
    assert out.getvalue().startswith("{") == json_mode


def test_waiting_without_a_terminal_is_one_plain_line_on_stderr() -> None:
    # Given a pipe
    out, err = io.StringIO(), io.StringIO()
    console = Console(stdout=out, stderr=err)
    # When a command waits, changing its line as it goes
    with console.waiting("asking the function to check pair web") as update:
        update("still asking (3 s)")
    # Then the waiting is one plain line on stderr, and stdout keeps only the answer
    assert err.getvalue() == "asking the function to check pair web ...\n"
    assert out.getvalue() == ""


def test_waiting_on_a_terminal_is_a_live_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a terminal
    monkeypatch.delenv("NO_COLOR", raising=False)
    out, err = Terminal(), io.StringIO()
    console = Console(stdout=out, stderr=err)
    # When a command waits and prints a progress line meanwhile
    with console.waiting("waiting for the alarm to reach the function") as update:
        console.progress("alarm set to ALARM")
        update("waiting for the attach to finish (2 s)")
    # Then the live line was drawn on the terminal, the progress line printed, and nothing
    # went to stderr
    shown = out.getvalue()
    assert "waiting for the alarm to reach the function" in shown
    assert "alarm set to ALARM" in shown
    assert err.getvalue() == ""


def test_waiting_says_nothing_with_json() -> None:
    out, err = Terminal(), io.StringIO()
    with Console(json_mode=True, stdout=out, stderr=err).waiting("asking the function"):
        pass
    assert (out.getvalue(), err.getvalue()) == ("", "")


def test_the_cli_does_not_load_rich_until_a_terminal_needs_it() -> None:
    # Given a fresh interpreter that loads the CLI and parses a command, as a script would
    code = (
        "import sys; from eni_failover_cli.main import build_parser; "
        "build_parser().parse_args(['status', '--json']); print('rich' in sys.modules)"
    )
    loaded = subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    # Then rich has not been imported: its import time is paid only on a terminal
    assert loaded.stdout.strip() == "False"


def test_waiting_within_waiting_keeps_one_live_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a terminal, and a command that waits inside another wait
    monkeypatch.delenv("NO_COLOR", raising=False)
    out, err = Terminal(), io.StringIO()
    console = Console(stdout=out, stderr=err)
    with console.waiting("running the drill"), console.waiting("asking the function"):
        pass
    # Then the one live line changed; nothing fell back to plain lines on stderr
    assert err.getvalue() == ""
