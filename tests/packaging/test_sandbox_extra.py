"""Without what the sandbox needs, its commands say in one line all that is missing and what to do.

The wheel test shows this for a venv without the extra; these show each reason in this
process, where everything is installed and the parts are taken away. The extra is all a
wheel needs besides Node.js: the CDK app ships as eni_failover_cdk, and the emulator runs
it as a module, from no checkout (the last test synthesizes it from a copy of the packages
alone, in a directory outside the project).
"""

from __future__ import annotations

import importlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import eni_failover_emulator.template
from eni_failover_cli import sandbox
from eni_failover_cli.console import Console
from eni_failover_cli.errors import CliError
from eni_failover_cli.main import main

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.mark.parametrize("arguments", [SANDBOX_UP, DRILL_LOCAL], ids=" ".join)
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


@pytest.mark.parametrize("arguments", [SANDBOX_UP, DRILL_LOCAL], ids=" ".join)
def test_everything_missing_is_named_in_the_first_error(
    arguments: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a wheel without the extra, on a machine without Node.js
    monkeypatch.setattr(sandbox, "_installed", lambda module: False)
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    # When the sandbox is started
    line = refused(arguments, tmp_path)
    # Then one line names every package, the pip command and Node.js: one round trip
    assert "missing aws-cdk-lib, cdk-nag, constructs, moto[server];" in line
    assert "pip install 'eni-failover[sandbox]'" in line
    assert "Node.js 20 or later" in line
    # And no checkout is asked for: the extra is all that pip can bring
    assert "checkout" not in line


def test_status_on_a_sandbox_does_not_ask_for_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a wheel without the extra (moto and the CDK libraries missing)
    monkeypatch.setattr(sandbox, "_installed", lambda module: False)
    # When status is asked of a sandbox (here: none is running)
    line = refused(["status"], tmp_path)
    # Then it goes on to look for the sandbox: moto runs in the sandbox's own process
    assert "sandbox extra" not in line
    assert "no sandbox file at" in line


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


def test_the_sandbox_has_no_template_option(tmp_path: Path) -> None:
    # Given a template file (an operator could only make one the sandbox takes by
    # starting a sandbox; the option was a way round a checkout, which it needs no more)
    template = tmp_path / "template.json"
    template.write_text("{}")
    # When it is passed
    with pytest.raises(SystemExit) as exited:
        main([*SANDBOX_UP, f"--template={template}"], console=Console(stderr=io.StringIO()))
    # Then argparse refuses it as unknown
    assert exited.value.code == 2


def test_synthesizing_without_node_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no `node` on PATH
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    # When the local drill would synthesize the CDK app
    line = refused(DRILL_LOCAL, tmp_path)
    # Then it asks for Node.js, and for nothing else
    assert "Node.js 20 or later" in line
    assert "sandbox extra" not in line


# What a wheel installs, as packages side by side; the function's code also under lambda/
# (where the stack stages it from in a checkout).
INSTALLED = {
    "eni_failover_cdk": "eni_failover_cdk",
    "eni_failover_cli": "eni_failover_cli",
    "eni_failover_emulator": "eni_failover_emulator",
    "eni_failover_ec2sim": "eni_failover_ec2sim",
    "lambda/eni_failover": "lambda/eni_failover",
}
SYNTHESIZE = """
import json, pathlib, sys, tempfile
from eni_failover_emulator.deployment import SAMPLE_CONTEXT
from eni_failover_emulator.template import synthesize
with tempfile.TemporaryDirectory() as outdir:
    template = synthesize(SAMPLE_CONTEXT, pathlib.Path(outdir) / "made-by-the-synth")
print(json.dumps(template["Description"]))
"""


@pytest.mark.slow
def test_the_emulator_synthesizes_the_installed_app_outside_a_checkout(tmp_path: Path) -> None:
    # Given the packages alone, copied away from the project: no app.py, no cdk.json
    site = tmp_path / "site"
    for source, target in INSTALLED.items():
        shutil.copytree(ROOT / source, site / target, ignore=shutil.ignore_patterns("__pycache__"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # When the emulator synthesizes, from a directory that is no checkout, seeing only them
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment["PYTHONPATH"] = os.pathsep.join([str(site), str(site / "lambda")])
    ran = subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", SYNTHESIZE],
        cwd=elsewhere,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Then the app's stack comes out
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout).startswith("ENI Failover")
    assert list(elsewhere.iterdir()) == []


def test_an_installation_without_the_app_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an installation whose CDK app package is missing (a broken install)
    monkeypatch.setattr(eni_failover_emulator.template, "APP_PACKAGE", "eni_failover_cdk_gone")
    err = io.StringIO()
    # When the local drill would synthesize it
    code = main(DRILL_LOCAL, console=Console(stdout=io.StringIO(), stderr=err))
    # Then it ends with one line saying what is missing, not a traceback
    assert code == 4
    last = err.getvalue().splitlines()[-1]
    assert "eni_failover_cdk_gone" in last
    assert "reinstall eni-failover" in last
    assert "Traceback" not in err.getvalue()
