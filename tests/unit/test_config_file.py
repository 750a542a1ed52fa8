"""The pairs file the stack packages beside the code, as the function reads it at cold start."""

from __future__ import annotations

from pathlib import Path

import pytest

from eni_failover.config import (
    CONFIG_FILE_NAME,
    ConfigError,
    FailoverConfig,
    FenceMode,
    Pair,
    Settings,
)

WEB = Pair(
    name="web",
    primary_instance_id="i-0aaaaaaaaaaaaaaa1",
    standby_instance_id="i-0aaaaaaaaaaaaaaa2",
    interface_ids=("eni-0aaaaaaaaaaaaaaa3",),
)
DB = WEB.model_copy(
    update={
        "name": "db",
        "primary_instance_id": "i-0bbbbbbbbbbbbbbb1",
        "standby_instance_id": "i-0bbbbbbbbbbbbbbb2",
        "interface_ids": ("eni-0bbbbbbbbbbbbbbb3",),
        "fence": FenceMode.ISOLATE,
    }
)
ENVIRONMENT = {
    "FAILOVER_ACCOUNT_ID": "123456789012",
    "AWS_REGION": "eu-west-1",
    "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:notify",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/dead",
    "STATE_TABLE_NAME": "state",
    "TRIGGER_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:trigger",
}


def packaged(directory: Path, config: FailoverConfig) -> dict[str, str]:
    """The environment of a function whose code holds `config` in its pairs file."""
    (directory / CONFIG_FILE_NAME).write_text(config.model_dump_json(exclude_defaults=True))
    return {**ENVIRONMENT, "FAILOVER_CONFIG_FILE": str(directory / CONFIG_FILE_NAME)}


def test_the_function_reads_its_pairs_from_the_packaged_file(tmp_path: Path) -> None:
    # Given 200 pairs, far more than Lambda's 4 KB environment holds
    pairs = tuple(
        WEB.model_copy(
            update={
                "name": f"nat-{i}",
                "primary_instance_id": f"i-{i:017x}",
                "standby_instance_id": f"i-{i + 0x100000:017x}",
                "interface_ids": (f"eni-{i:017x}",),
            }
        )
        for i in range(1, 201)
    )
    environment = packaged(tmp_path, FailoverConfig(pairs=pairs))
    # When the function reads its settings
    settings = Settings.from_environment(environment)
    # Then every pair is there, as packaged
    assert settings.failover.pairs == pairs


def test_the_quarantine_group_comes_from_the_environment(tmp_path: Path) -> None:
    # Given a pair that isolates, and the group CloudFormation created for it
    environment = packaged(tmp_path, FailoverConfig(pairs=(WEB, DB)))
    environment["QUARANTINE_GROUP_ID"] = "sg-0123456789abcdef0"
    # When the function reads its settings
    settings = Settings.from_environment(environment)
    # Then the isolating pair names the group, and the other pair none
    groups = {pair.name: pair.quarantine_group_id for pair in settings.failover.pairs}
    assert groups == {"web": None, "db": "sg-0123456789abcdef0"}


def test_a_missing_file_is_named_with_what_was_expected(tmp_path: Path) -> None:
    environment = {**ENVIRONMENT, "FAILOVER_CONFIG_FILE": str(tmp_path / "gone.json")}
    with pytest.raises(ConfigError, match=r"FAILOVER_CONFIG_FILE: cannot read .*gone\.json"):
        Settings.from_environment(environment)


def test_a_broken_file_names_the_field(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE_NAME).write_text('{"pairs": [{"name": "web"}]}')
    environment = {**ENVIRONMENT, "FAILOVER_CONFIG_FILE": str(tmp_path / CONFIG_FILE_NAME)}
    with pytest.raises(ConfigError, match=r"pairs\.0\.primary_instance_id: Field required"):
        Settings.from_environment(environment)


def test_no_pairs_file_named_is_a_missing_variable() -> None:
    with pytest.raises(ConfigError, match="environment variables not set: FAILOVER_CONFIG_FILE"):
        Settings.from_environment(ENVIRONMENT)


def test_a_stack_of_tagged_pairs_only_needs_no_configured_pair() -> None:
    assert FailoverConfig(discover_tags=True).pairs == ()
    with pytest.raises(ValueError, match="no pair: configure at least one"):
        FailoverConfig()
