"""Without what the sandbox needs, its commands say in one line what is missing and what to do.

The wheel test shows this for a venv without the extra; these show each reason in this
process, where everything is installed and the parts are taken away one at a time.
"""

from __future__ import annotations

import importlib
import io
import shutil
from pathlib import Path
from typing import Any

import pytest

import eni_failover_emulator.template
from eni_failover_cli import sandbox
from eni_failover_cli.console import Console
from eni_failover_cli.errors import CliError, ExitCode
from eni_failover_cli.main import main

SANDBOX_UP = ["sandbox", "up", "--background"]
DRILL_LOCAL = ["drill", "--local"]


def refused(arguments: list[str], cwd: Path) -> str:
    """Run the command in `cwd`; it must fail with one line and start nothing there."""
    out, err = io.StringIO(), io.StringIO()
    code = main(
        [f"--sandbox={cwd / 'sandbox.json'}", *arguments],
        console=Console(stdout=out, stderr=err),
    )
    assert code == 4
    (line,) = err.getvalue().splitlines()
    assert list(cwd.iterdir()) == []
    return line


@pytest.mark.parametrize("arguments", [SANDBOX_UP, DRILL_LOCAL, ["status"]], ids=" ".join)
def test_a_missing_package_of_the_extra_is_named_with_the_pip_command(
    arguments: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given moto is not installed
    monkeypatch.setattr(sandbox, "_installed", lambda module: module != "moto")
    # When the sandbox is started
    line = refused(arguments, tmp_path)
    # Then the line names the package and the extra
    assert "missing moto[server])" in line
    assert "pip install 'eni-failover[sandbox]'" in line


def test_a_module_missing_on_import_is_reported_the_same_way() -> None:
    # Given a dependency of the extra that the look-up did not foresee
    with pytest.raises(CliError) as raised, sandbox.needs_sandbox_extra("sandbox up"):
        importlib.import_module("werkzeug_is_not_installed")
    # Then the error names it, with the pip command
    assert "missing werkzeug_is_not_installed" in raised.value.message
    assert sandbox.INSTALL_SANDBOX_EXTRA in raised.value.message


def test_a_missing_module_of_our_own_is_a_bug_not_an_extra() -> None:
    with (
        pytest.raises(ModuleNotFoundError, match=r"eni_failover\.gone"),
        sandbox.needs_sandbox_extra("sandbox up"),
    ):
        importlib.import_module("eni_failover.gone")


@pytest.mark.parametrize(
    ("arguments", "advice"),
    [(SANDBOX_UP, "--template FILE"), (DRILL_LOCAL, "`make demo`")],
    ids=lambda a: " ".join(a) if isinstance(a, list) else "",
)
def test_synthesizing_without_a_checkout_says_what_to_do(
    arguments: list[str], advice: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the emulator installed from the wheel: no app.py or eni_failover_cdk/ beside it
    installed = tmp_path / "site-packages"
    installed.mkdir()
    monkeypatch.setattr(eni_failover_emulator.template, "PROJECT_ROOT", installed)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    # When the command would synthesize the CDK app
    line = refused(arguments, cwd)
    # Then it says the app comes with a checkout, and what to do instead
    assert "synthesizes the CDK app" in line
    assert "checkout" in line
    assert advice in line


def test_a_template_given_needs_no_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no app beside the emulator, and a background start that only records its call
    monkeypatch.setattr(eni_failover_emulator.template, "PROJECT_ROOT", tmp_path)
    started: list[list[str]] = []

    def up_background(
        console: Console, path: Path, arguments: list[str], *, wait_seconds: float
    ) -> tuple[ExitCode, dict[str, Any], str]:
        started.append(arguments)
        return ExitCode.OK, {}, "up"

    monkeypatch.setattr(sandbox, "up_background", up_background)
    template = tmp_path / "template.json"
    # When the sandbox is started with a template to reuse
    code = main([*SANDBOX_UP, f"--template={template}"], console=Console(stdout=io.StringIO()))
    # Then it starts: nothing is synthesized, so no checkout is needed
    assert code == 0
    assert started == [["--pair-name=demo", f"--template={template}"]]


def test_synthesizing_without_node_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no `node` on PATH
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    # When the local drill would synthesize the CDK app
    line = refused(DRILL_LOCAL, tmp_path)
    # Then it asks for Node.js
    assert "Node.js" in line
