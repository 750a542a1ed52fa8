"""app.py refuses bad context with a readable message on stderr, not a traceback."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest

import app
from tests.infra.conftest import ROOT, SINGLE_PAIR_CONTEXT


def test_bad_context_exits_with_the_problems_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the context the CLI would pass, with a malformed primary
    context = {**SINGLE_PAIR_CONTEXT, "primaryInstanceId": "i-nothex00"}
    # When the app runs
    with pytest.raises(SystemExit) as exited:
        app.main(cdk.App(context=context))
    # Then it exits 1 and says which key is wrong and what it should look like
    assert exited.value.code == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("ENI Failover configuration is not valid:")
    assert "primaryInstanceId: 'i-nothex00' is not an instance ID: 'i-' then 8 or 17 hex" in stderr
    assert "Traceback" not in stderr


def test_no_context_explains_how_to_configure(capsys: pytest.CaptureFixture[str]) -> None:
    # Given no context at all (cdk.json holds no pair by default)
    # When the app runs
    with pytest.raises(SystemExit) as exited:
        app.main(cdk.App())
    # Then it exits 1, and both ways to configure are shown
    assert exited.value.code == 1
    stderr = capsys.readouterr().err
    assert "-c primaryInstanceId=" in stderr
    assert '"pairs"' in stderr


def test_cdk_json_runs_the_app_from_the_venv_and_holds_no_pair() -> None:
    # Given cdk.json
    cdk_json = json.loads((ROOT / "cdk.json").read_text())
    # Then the CLI runs app.py with the project's venv, and no pair is configured by default
    assert cdk_json["app"] == ".venv/bin/python app.py"
    assert not {"pairs", "primaryInstanceId", "standbyInstanceId", "eniId"} & set(
        cdk_json.get("context", {})
    )
