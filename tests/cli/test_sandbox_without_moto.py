"""A wheel without the sandbox extra talks to a sandbox started elsewhere.

The sandbox runs moto; the commands that use it only need boto3 and the function's code.
Here they run in a process of their own where moto (and its server's Flask and Werkzeug)
cannot be imported, as in a venv where only `pip install eni-failover` was run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.cli.conftest import PAIR, RunningSandbox

# Before anything imports them, make the sandbox extra's server packages unimportable.
WITHOUT_MOTO = textwrap.dedent(
    """
    import importlib.abc, sys

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.partition(".")[0] in ("moto", "flask", "werkzeug"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    from eni_failover_cli.main import main
    code = main(sys.argv[1:])
    assert "moto" not in sys.modules, "moto was imported"
    sys.exit(code)
    """
)


def without_moto(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, this package
        [sys.executable, "-c", WITHOUT_MOTO, *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "ENI_FAILOVER_SANDBOX"},
    )


def test_status_needs_no_moto(sandbox: RunningSandbox) -> None:
    # When status runs against the sandbox from a process without moto
    ran = without_moto(f"--sandbox={sandbox.path}", "--json", "status")
    # Then it answers from the sandbox, without a word about the extra
    assert ran.returncode == 0, ran.stderr
    [pair] = json.loads(ran.stdout)["pairs"]
    assert pair["location"] == "primary"
    assert "sandbox extra" not in ran.stderr


@pytest.mark.parametrize("command", [["check", PAIR], ["history", PAIR]], ids=" ".join)
def test_the_other_commands_on_a_sandbox_need_no_moto_either(
    sandbox: RunningSandbox, command: list[str]
) -> None:
    # When a command that runs the function's code runs without moto
    ran = without_moto(f"--sandbox={sandbox.path}", *command)
    # Then it works (check: the pair is ready)
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr
