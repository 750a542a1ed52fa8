"""The README's `npx cdk` commands print no noise: no Node.js end-of-life banner (which the
CDK CLI shows as Python byte strings, `b'!!  Node 20 is end-of-life ...'`) and no "N feature
flags are not configured" notice.

The app tells jsii that a Node.js the README supports (20 and later) is known
(eni_failover_cdk.node), whoever runs it: the CDK CLI, the emulator, a test; cdk.json sets
the feature flags (tests/infra/test_feature_flags.py shows they change no template). This
runs the README's synth as a user types it, with no silencing variable of their own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from eni_failover_cdk.node import SILENCE_END_OF_LIFE, quiet_end_of_life
from tests.infra.conftest import ROOT

# The README's first deploy's context (Deploying), for a synth.
README_CONTEXT = [
    "-c",
    "primaryInstanceId=i-0123456789abcdef0",
    "-c",
    "standbyInstanceId=i-0fedcba9876543210",
    "-c",
    "eniId=eni-0123456789abcdef0",
    "-c",
    "notifyEmail=ops@example.com,oncall@example.com",
]
NPX = shutil.which("npx")


@pytest.mark.slow
@pytest.mark.skipif(
    NPX is None or not (ROOT / "node_modules" / ".bin" / "cdk").exists(),
    reason="needs the CDK CLI (make setup)",
)
def test_the_readme_synth_prints_no_banner_and_no_flag_notice(tmp_path: Path) -> None:
    # Given a user's environment: nothing silences jsii, no PYTHONPATH into the checkout
    environment = {
        k: v for k, v in os.environ.items() if k not in (SILENCE_END_OF_LIFE, "PYTHONPATH")
    }
    # When the README's synth runs
    ran = subprocess.run(  # noqa: S603 - the project's pinned CDK CLI
        [str(NPX), "cdk", "synth", "--quiet", "--output", str(tmp_path), *README_CONTEXT],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Then it synthesizes, and says nothing of Node.js's end of life or of feature flags
    assert ran.returncode == 0, ran.stderr
    assert "b'" not in ran.stderr
    assert "end-of-life" not in ran.stderr
    assert "feature flags" not in ran.stderr
    assert list(tmp_path.glob("*.template.json"))


def node(tmp_path: Path, version: str) -> str:
    """A `node` that answers `--version` as the given release would."""
    program = tmp_path / f"node-{version}"
    program.write_text(f"#!/bin/sh\necho v{version}\n")
    program.chmod(0o755)
    return str(program)


@pytest.mark.parametrize(
    ("version", "silenced"), [("20.20.2", "20"), ("22.1.0", "22"), ("18.19.0", None)]
)
def test_only_a_node_the_readme_supports_is_silenced(
    tmp_path: Path, version: str, silenced: str | None
) -> None:
    # Given jsii would run this Node.js
    environment = {"JSII_NODE": node(tmp_path, version)}
    # When the app prepares jsii's environment
    quiet_end_of_life(environment)
    # Then a supported major is silenced; an older one keeps its warning
    assert environment.get(SILENCE_END_OF_LIFE) == silenced


def test_a_choice_already_made_is_kept(tmp_path: Path) -> None:
    environment = {"JSII_NODE": node(tmp_path, "20.1.0"), SILENCE_END_OF_LIFE: "18,20"}
    quiet_end_of_life(environment)
    assert environment[SILENCE_END_OF_LIFE] == "18,20"


def test_no_node_is_left_to_jsii_to_report(tmp_path: Path) -> None:
    environment = {"JSII_NODE": str(tmp_path / "no-such-node")}
    quiet_end_of_life(environment)
    assert SILENCE_END_OF_LIFE not in environment
