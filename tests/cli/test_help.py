"""Every command explains itself, and the command is installed the ways the README says."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from eni_failover_cli.main import main

COMMANDS = [
    [],
    ["status"],
    ["check"],
    ["failover"],
    ["failback"],
    ["pause"],
    ["resume"],
    ["drill"],
    ["sandbox"],
    ["sandbox", "up"],
    ["sandbox", "down"],
    ["sandbox", "inbox"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "eni-failover")
def test_help_exits_zero_and_shows_usage(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith(f"usage: eni-failover {' '.join(command)}".rstrip())
    # The global options work after the command too.
    assert "--json" in help_text
    assert "--sandbox" in help_text


def test_exit_codes_are_documented_for_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "--help"])
    assert exited.value.code == 0
    assert "2  not ready" in capsys.readouterr().out


def test_a_missing_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["failover"])
    assert exited.value.code == 2
    assert "PAIR" in capsys.readouterr().err


def test_installed_as_a_console_script_and_as_a_module() -> None:
    # Given the project installed by `make` (pip install -e .)
    (script,) = entry_points(group="console_scripts", name="eni-failover")
    assert script.value == "eni_failover_cli.main:main"
    # And `python -m eni_failover_cli` runs the same command
    completed = subprocess.run(
        [sys.executable, "-m", "eni_failover_cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("usage: eni-failover")
