"""EniFailover as a user's CDK app gets it: from the wheel, without the checkout.

The wheel is installed with --no-deps into a directory of its own; the README's example app
(it defines its own instances and adds EniFailover) runs from a directory outside the
checkout, with only that directory and the venv's installed dependencies importable: no
site processing (so the venv's editable install of the checkout is not loaded), no
PYTHONPATH into the checkout.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.infra.test_readme_construct import check_synthesized, readme_example
from tests.packaging.conftest import ROOT, clean_environment, pip

pytestmark = pytest.mark.slow

# Where each import comes from, and what must not be importable, as the app would see it.
WHERE_FROM = """
import importlib.util, eni_failover, eni_failover_cdk
print(eni_failover.__file__)
print(eni_failover_cdk.__file__)
print(*(importlib.util.find_spec(m) is not None for m in ("tests", "app", "bench")))
"""


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    target = tmp_path_factory.mktemp("target")
    pip("install", "--no-deps", "--target", str(target), str(wheel))
    return target


def run_outside(target: Path, cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """This interpreter without site (-S), the wheel first on the path, then the venv's
    dependencies."""
    site_packages = sysconfig.get_paths()["purelib"]
    return subprocess.run(  # noqa: S603 - this interpreter, on files this test wrote
        [sys.executable, "-S", *arguments],
        cwd=cwd,
        env={
            **clean_environment(),
            "PYTHONPATH": f"{target}:{site_packages}",
            "CDK_OUTDIR": str(cwd / "cdk.out"),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_checkout_is_not_importable_there(target: Path, tmp_path: Path) -> None:
    ran = run_outside(target, tmp_path, "-c", WHERE_FROM)
    assert ran.returncode == 0, ran.stderr
    function, construct, not_importable = ran.stdout.splitlines()
    assert Path(function).is_relative_to(target)
    assert Path(construct).is_relative_to(target)
    assert not Path(construct).is_relative_to(ROOT)
    assert not_importable.split() == ["False", "False", "False"]


def test_the_readme_example_synthesizes_from_the_wheel(target: Path, tmp_path: Path) -> None:
    # Given the README's ten-line app, in a directory outside the checkout
    (tmp_path / "app.py").write_text(readme_example())
    # When it runs with the wheel's packages
    ran = run_outside(target, tmp_path, "app.py")
    # Then it synthesizes: the outputs the CLI reads, the function's code and configuration
    assert ran.returncode == 0, ran.stderr
    check_synthesized(tmp_path / "cdk.out")


def test_the_app_runs_from_the_wheel(target: Path, tmp_path: Path) -> None:
    # Given the app's module, as the sandbox runs it without a checkout
    context = (
        '{"primaryInstanceId": "i-0123456789abcdef0", "standbyInstanceId": '
        '"i-0fedcba9876543210", "eniId": "eni-0123456789abcdef0", '
        '"notifyEmail": "ops@example.com"}'
    )
    ran = subprocess.run(
        [sys.executable, "-S", "-m", "eni_failover_cdk.app"],
        cwd=tmp_path,
        env={
            **clean_environment(),
            "PYTHONPATH": f"{target}:{sysconfig.get_paths()['purelib']}",
            "CDK_OUTDIR": str(tmp_path / "cdk.out"),
            "CDK_CONTEXT_JSON": context,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "cdk.out" / "EniFailover.template.json").is_file()
