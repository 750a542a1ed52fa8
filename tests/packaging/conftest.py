"""The wheel, built once per session from a copy of the project (setuptools writes build/
and *.egg-info next to the sources, and others work in this tree at the same time)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Not copied: what is not source, and what is large.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "cdk.out",
    "cdk.out.*",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    ".eni-failover-sandbox.*",
)


def clean_environment() -> dict[str, str]:
    # Nothing of this repository or its venv: a PYTHONPATH into the checkout would show pip
    # the project as installed already, and the commands the checkout's modules.
    leaks = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "ENI_FAILOVER_SANDBOX")
    return {k: v for k, v in os.environ.items() if k not in leaks}


def pip(*arguments: str) -> None:
    completed = subprocess.run(  # noqa: S603 - this interpreter's pip
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments],
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel-build")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    pip("wheel", "--no-deps", "--wheel-dir", str(work / "dist"), str(source))
    (built,) = (work / "dist").glob("eni_failover-*.whl")
    return built
