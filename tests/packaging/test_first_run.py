"""`make demo` on a fresh clone: the minutes of installing and synthesizing are announced.

pip and npm run quiet (their output would drown the demo's), so the Makefile says what each
setup step installs and why it takes time before it starts. Checked on the recipes make
would run from scratch (`make -n -B`: printed, nothing run).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def first_run(target: str) -> list[str]:
    """The commands `make TARGET` runs on a fresh clone, in order."""
    ran = subprocess.run(  # noqa: S603 - make, dry run only
        ["make", "-n", "-B", target],  # noqa: S607 - make from PATH, as a user runs it
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return ran.stdout.splitlines()


def first(lines: list[str], text: str) -> int:
    """The first line that says `text`."""
    return next(i for i, line in enumerate(lines) if text in line)


def runs(lines: list[str], command: str) -> int:
    """The first line that runs `command` (not an echo naming it)."""
    return next(i for i, line in enumerate(lines) if line.startswith(command))


def test_make_demo_says_what_it_installs_and_how_long_before_it_does() -> None:
    lines = first_run("demo")
    # The Python packages: announced, with the time it takes, before pip starts
    announced = first(lines, "installing the pinned Python packages")
    assert "about 3 minutes" in lines[announced]
    assert "CDK libraries" in lines[announced + 1]
    assert announced < runs(lines, ".venv/bin/python -m pip install")
    # The CDK CLI: the same, before npm starts
    assert first(lines, "installing the pinned CDK CLI") < runs(lines, "npm ci")
    # And the drill itself is announced before it starts (it narrates from then on)
    assert first(lines, "starting the drill") < runs(
        lines, ".venv/bin/python -m eni_failover_emulator.drill"
    )
