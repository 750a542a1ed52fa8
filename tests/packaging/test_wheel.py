"""The operator CLI as an operator installs it: the wheel, in a fresh venv, outside the repo.

The wheel (tests/packaging/conftest.py) is installed with its declared dependencies held to
the pins in requirements.txt, so pip takes them from its cache and the install also shows
that the pins satisfy the declared ranges.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.packaging.conftest import ROOT, clean_environment, pip

INSTALL_EXTRA = "pip install 'eni-failover[sandbox]'"
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    cwd: Path  # outside the repository

    def run(self, program: str, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - programs of the venv this test made
            [str(self.venv / "bin" / program), *arguments],
            cwd=self.cwd,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    venv = work / "venv"
    subprocess.run(  # noqa: S603 - the standard library's venv
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        env=clean_environment(),
        check=True,
        timeout=60,
    )
    # Constraints may not name extras; the pins are the same without them.
    constraints = work / "constraints.txt"
    constraints.write_text(re.sub(r"\[[^\]]*\]", "", (ROOT / "requirements.txt").read_text()))
    pip("--python", str(venv / "bin" / "python"), "install", "-c", str(constraints), str(wheel))
    cwd = work / "elsewhere"
    cwd.mkdir()
    return Installed(wheel=wheel, venv=venv, cwd=cwd)


def test_the_wheel_holds_the_cli_the_function_and_the_sandbox_code_only(
    installed: Installed,
) -> None:
    # Given the wheel
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
    # When we list its top-level packages
    tops = {name.split("/")[0] for name in names}
    packages = {top for top in tops if not top.endswith(".dist-info")}
    # Then only the project's own names (nothing generic such as infra or emulator that
    # would collide with another project's): the benchmarks and the tests are not in it; the
    # sandbox's code is, for the extra, and the CDK code, for the cdk extra
    assert packages == {
        "eni_failover_cli",
        "eni_failover",
        "eni_failover_cdk",
        "eni_failover_emulator",
        "eni_failover_ec2sim",
    }
    assert "eni_failover/handler.py" in names
    # The construct, and the app, with the function's code it packages
    assert "eni_failover_cdk/construct.py" in names
    assert "eni_failover_cdk/app.py" in names
    assert "eni_failover/prober_handler.py" in names
    # with its subpackages: the address kinds, which decide (and so the CLI) imports
    assert "eni_failover/kinds/routes.py" in names
    assert "eni_failover_emulator/sandbox.py" in names


def test_every_module_of_the_shipped_packages_is_in_the_wheel(installed: Installed) -> None:
    # Given the wheel, and the modules of the packages it ships, subpackages included (the
    # address kinds live in eni_failover.kinds, which setuptools leaves out unless listed)
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    sources = {
        "eni_failover": ROOT / "lambda" / "eni_failover",
        **{
            package: ROOT / package
            for package in (
                "eni_failover_cdk",
                "eni_failover_cli",
                "eni_failover_emulator",
                "eni_failover_ec2sim",
            )
        },
    }
    # When each module's place in the wheel is listed
    expected = {
        f"{package}/{module.relative_to(directory).as_posix()}"
        for package, directory in sources.items()
        for module in directory.rglob("*.py")
    }
    # Then none is missing
    assert sorted(expected - names) == []


def test_help_works_in_a_fresh_venv(installed: Installed) -> None:
    for command in ([], ["status"]):
        # When an operator asks for help
        ran = installed.run("eni-failover", *command, "--help")
        # Then it comes, and names the command
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.startswith(f"usage: eni-failover {' '.join(command)}".rstrip())


def test_the_benchmarks_and_tests_are_not_importable(installed: Installed) -> None:
    # Given the venv (isolated: no current directory, no PYTHONPATH on sys.path)
    probe = (
        "import importlib.util as u; "
        "print(*(u.find_spec(m) is not None for m in ('bench', 'tests', 'moto')))"
    )
    ran = installed.run("python", "-I", "-c", probe)
    # Then neither package is there, and the sandbox extra was not installed with the CLI
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["False", "False", "False"]


@pytest.mark.parametrize(
    "command",
    [
        ["sandbox", "up"],
        ["sandbox", "up", "--background"],
        ["drill", "--local"],
    ],
    ids=" ".join,
)
def test_sandbox_commands_without_the_extra_say_how_to_install_it(
    installed: Installed, command: list[str]
) -> None:
    # When the operator runs a command that needs the sandbox, without the extra
    ran = installed.run("eni-failover", *command)
    # Then one line names what is missing and the pip command; no traceback
    assert ran.returncode == 4
    assert "Traceback" not in ran.stderr
    (line,) = ran.stderr.splitlines()
    assert "moto[server]" in line
    assert "aws-cdk-lib" in line
    assert INSTALL_EXTRA in line
    assert "checkout" not in line
    assert ran.stdout == ""
    # And nothing was started: no sandbox file, no log of a background process
    assert list(installed.cwd.iterdir()) == []


def test_status_on_a_sandbox_needs_no_extra(installed: Installed) -> None:
    # When the operator asks a sandbox for the status, without the extra (none runs here)
    ran = installed.run("eni-failover", "--sandbox", "status")
    # Then the CLI looks for the sandbox: moto runs in the sandbox's process, not here
    assert ran.returncode == 4
    assert "Traceback" not in ran.stderr
    assert "no sandbox file at" in ran.stderr
    assert INSTALL_EXTRA not in ran.stderr
