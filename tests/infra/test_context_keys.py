"""Mistakes caught at once: an unknown context key stops synth, and one run reports every
problem the context has, not the first wave of them."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import aws_cdk as cdk
import pytest

import app
import eni_failover_cdk.settings as settings_module
from eni_failover_cdk.settings import KNOWN_KEYS, SettingsError, read_settings
from tests.infra.conftest import ROOT, SINGLE_PAIR_CONTEXT, cdk_json_context


def problems_of(context: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(SettingsError) as raised:
        read_settings(context.get, keys=context)
    return raised.value.problems


def test_a_misspelled_key_is_named_with_the_nearest_known_one() -> None:
    # Given a valid pair and `-c evaluationPeriod=5` (the key is evaluationPeriods)
    context = {**SINGLE_PAIR_CONTEXT, "evaluationPeriod": "5"}
    # When the settings are read
    problems = problems_of(context)
    # Then the typo is the one problem, with the key it was meant to be
    assert problems == ("evaluationPeriod is not a known key; did you mean evaluationPeriods?",)


def test_a_key_like_no_other_lists_the_known_keys() -> None:
    # Given a key that resembles none of ours
    (problem,) = problems_of({**SINGLE_PAIR_CONTEXT, "zzz": "1"})
    # Then the message lists what is known
    assert problem.startswith("zzz is not a known key; known keys: stackName,")


def test_cdks_own_keys_and_feature_flags_pass() -> None:
    # Given the feature flags of cdk.json and keys the CDK CLI adds itself
    context = {
        **cdk_json_context(),
        **SINGLE_PAIR_CONTEXT,
        "@aws-cdk/core:newStyleStackSynthesis": True,
        "aws:cdk:enable-path-metadata": True,
        "availability-zones:account=123456789012:region=eu-west-1": ["eu-west-1a"],
        "acknowledged-issue-numbers": [32775],
    }
    # When the settings are read, then nothing is refused
    settings = read_settings(context.get, keys=context)
    assert (
        settings.failover.pairs[0].primary_instance_id == SINGLE_PAIR_CONTEXT["primaryInstanceId"]
    )


def test_every_known_key_is_accepted_as_a_key() -> None:
    # The list of known keys is the list the reader reads: none of them is called unknown
    context = {key: None for key in KNOWN_KEYS} | SINGLE_PAIR_CONTEXT
    read_settings(context.get, keys=context)


def test_every_problem_comes_in_one_report() -> None:
    # Given a context with a typo, a bad pair, a duplicate name, a bad email and a
    # reservation too small: per-pair, cross-pair and stack-wide problems at once
    web = {
        "name": "web",
        "primaryInstanceId": "i-0aaaaaaaaaaaaaaa1",
        "standbyInstanceId": "i-0aaaaaaaaaaaaaaa2",
        "eniIds": ["eni-0aaaaaaaaaaaaaaa3"],
    }
    broken = {**web, "name": "db", "primaryInstanceId": "i-nothex00"}
    twin = {**web, "primaryInstanceId": "i-0ccccccccccccccc1", "eniIds": ["eni-0ccccccccccccccc3"]}
    context: dict[str, Any] = {
        "pairs": [web, broken, twin],
        "notifyEmail": "not-an-address",
        "reservedConcurrency": "1",
        "swapDeadline": "30",
    }
    # When the settings are read
    problems = "\n".join(problems_of(context))
    # Then one report names each of them, against the key that set it
    assert "swapDeadline is not a known key; did you mean swapDeadlineSeconds?" in problems
    assert "pairs[1].primaryInstanceId: 'i-nothex00' is not an instance ID" in problems
    assert "pairs[2].name: 'web' is already the name of pairs[0]" in problems
    assert "notifyEmail: 'not-an-address' is not an email address" in problems
    assert "reservedConcurrency: '1' is not a whole number of executions of at least 5" in (
        problems
    )


def test_the_app_refuses_an_unknown_key_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the app with cdk.json's context and a typo on the command line
    context = {**cdk_json_context(), **SINGLE_PAIR_CONTEXT, "evaluationPeriod": "5"}
    # When it runs
    with pytest.raises(SystemExit) as exited:
        app.main(cdk.App(context=context))
    # Then it exits 1 naming the key and the one it was meant to be
    assert exited.value.code == 1
    assert "evaluationPeriod is not a known key; did you mean evaluationPeriods?" in (
        capsys.readouterr().err
    )


@pytest.mark.slow
def test_synth_as_the_cdk_cli_runs_it_refuses_the_typo(tmp_path: Any) -> None:
    # Given the context the way the CDK CLI hands it over (CDK_CONTEXT_JSON), with the
    # feature flags of cdk.json and the CLI's own settings
    context = {
        **cdk_json_context(),
        **SINGLE_PAIR_CONTEXT,
        "aws:cdk:enable-path-metadata": True,
        "evaluationPeriod": "5",
    }
    # When app.py runs
    completed = subprocess.run(  # noqa: S603 - our own app, run with this interpreter
        [sys.executable, str(ROOT / "app.py")],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "CDK_OUTDIR": str(tmp_path),
            "CDK_CONTEXT_JSON": json.dumps(context),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    # Then synth stops, naming the key
    assert completed.returncode == 1
    assert "evaluationPeriod is not a known key; did you mean evaluationPeriods?" in (
        completed.stderr
    )


def test_every_key_the_settings_define_is_a_known_key() -> None:
    # Given every context key constant of eni_failover_cdk.settings (a new key is one more KEY_...)
    defined = {
        value
        for name, value in vars(settings_module).items()
        if name.startswith("KEY_") and isinstance(value, str)
    }
    # Then each is known, so that passing it is never refused as a typo
    assert defined - set(KNOWN_KEYS) == set()
