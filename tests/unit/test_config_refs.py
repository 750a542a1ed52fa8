"""Values that were CDK tokens at synth (EniFailover given `instance.instance_id`): the packaged
file holds a placeholder for each, FAILOVER_CONFIG_REFS the values CloudFormation resolved,
and the function substitutes them at cold start before validating anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eni_failover.config import ConfigError, Settings
from tests.unit.test_config_file import ENVIRONMENT

# The file as the construct packages it for one pair given by tokens (eni_failover_cdk.
# lambda_package.with_placeholders): the first token twice is the same placeholder.
PACKAGED = {
    "pairs": [
        {
            "name": "web",
            "primary_instance_id": {"$ref": 0},
            "standby_instance_id": {"$ref": 1},
            "interface_ids": [{"$ref": 2}],
            "alarm_name": "WebTier-web-primary-status",
        }
    ]
}


def environment_with(tmp_path: Path, refs: list[str]) -> dict[str, str]:
    (tmp_path / "failover-config.json").write_text(json.dumps(PACKAGED))
    return {
        **ENVIRONMENT,
        "FAILOVER_CONFIG_FILE": str(tmp_path / "failover-config.json"),
        "FAILOVER_CONFIG_REFS": json.dumps(refs),
    }


def test_resolved_refs_take_the_placeholders_places(tmp_path: Path) -> None:
    # Given the file and the values CloudFormation resolved the tokens to
    environment = environment_with(
        tmp_path, ["i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2", "eni-0aaaaaaaaaaaaaaa3"]
    )
    # When the function reads its settings at cold start
    (pair,) = Settings.from_environment(environment).failover.pairs
    # Then the pair is the resolved instances and interface
    assert pair.primary_instance_id == "i-0aaaaaaaaaaaaaaa1"
    assert pair.standby_instance_id == "i-0aaaaaaaaaaaaaaa2"
    assert pair.interface_ids == ("eni-0aaaaaaaaaaaaaaa3",)


def test_a_resolved_value_of_the_wrong_form_fails_naming_the_key_and_the_form(
    tmp_path: Path,
) -> None:
    # Given a token that resolved to something other than an instance ID (a wrong attribute)
    environment = environment_with(
        tmp_path, ["sg-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2", "eni-0aaaaaaaaaaaaaaa3"]
    )
    # When the function reads its settings, then it fails loudly, before doing anything
    with pytest.raises(ConfigError) as refused:
        Settings.from_environment(environment)
    message = str(refused.value)
    assert "with FAILOVER_CONFIG_REFS substituted" in message
    assert "pairs.0.primary_instance_id" in message
    assert "'sg-0aaaaaaaaaaaaaaa1' is not an instance ID: 'i-' then 8 or 17 hex digits" in message


def test_an_unresolved_token_is_refused_at_cold_start(tmp_path: Path) -> None:
    # Given a value still in CDK's token form (the function never accepts one)
    environment = environment_with(
        tmp_path, ["${Token[TOKEN.12]}", "i-0aaaaaaaaaaaaaaa2", "eni-0aaaaaaaaaaaaaaa3"]
    )
    with pytest.raises(
        ConfigError,
        match=r"'\$\{Token\[TOKEN\.12\]\}' is a CDK token that was never resolved: "
        r"expected an instance ID",
    ):
        Settings.from_environment(environment)


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        ('["i-0aaaaaaaaaaaaaaa1"]', r"placeholder \{'\$ref': 1\} has no value"),
        ("not json", "FAILOVER_CONFIG_REFS or .*: not JSON"),
        ('{"0": "i-0aaaaaaaaaaaaaaa1"}', "expected a JSON list of strings"),
        (
            json.dumps(
                ["i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2", "eni-0aaaaaaaaaaaaaaa3", "x"]
            ),
            "4 values for 3 placeholders",
        ),
    ],
)
def test_refs_that_do_not_match_the_file_are_refused(
    tmp_path: Path, refs: str, expected: str
) -> None:
    environment = environment_with(tmp_path, [])
    environment["FAILOVER_CONFIG_REFS"] = refs
    with pytest.raises(ConfigError, match=expected):
        Settings.from_environment(environment)


def test_a_file_without_placeholders_reads_as_always_without_refs(tmp_path: Path) -> None:
    # Given a stack of literal IDs: no FAILOVER_CONFIG_REFS at all
    environment = environment_with(tmp_path, [])
    del environment["FAILOVER_CONFIG_REFS"]
    (tmp_path / "failover-config.json").write_text(
        json.dumps(
            {
                "pairs": [
                    {
                        "name": "web",
                        "primary_instance_id": "i-0aaaaaaaaaaaaaaa1",
                        "standby_instance_id": "i-0aaaaaaaaaaaaaaa2",
                        "interface_ids": ["eni-0aaaaaaaaaaaaaaa3"],
                    }
                ]
            }
        )
    )
    (pair,) = Settings.from_environment(environment).failover.pairs
    assert pair.primary_instance_id == "i-0aaaaaaaaaaaaaaa1"
