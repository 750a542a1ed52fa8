"""The stack's outputs and the function's list of pairs, as the CLI reads them."""

from __future__ import annotations

import pytest

from eni_failover.config import Pair
from eni_failover_cli.errors import CliError
from eni_failover_cli.outputs import StackOutputs, pair_named, parse_pairs

# What the function answers to {"action": "pairs"}: eni_failover.config.Pair, dumped.
ANSWER = {
    "pairs": [
        {
            "name": "web",
            "primary_instance_id": "i-0aaaaaaaaaaaaaaa1",
            "standby_instance_id": "i-0aaaaaaaaaaaaaaa2",
            "interface_ids": ["eni-0aaaaaaaaaaaaaaa3"],
            "alarm_name": "EniFailover-web-primary-status",
            "probe": None,
            "trigger_alarms": [],
            "failback": "manual",
            "failback_after_seconds": 300,
            "max_automatic_moves": 3,
            "fence": "none",
            "quarantine_group_id": None,
        }
    ]
}
OUTPUTS = {
    "FunctionName": "EniFailover-FailoverFunction-abc",
    "TriggerTopicArn": "arn:aws:sns:eu-west-1:111122223333:trigger",
    "NotificationTopicArn": "arn:aws:sns:eu-west-1:111122223333:notify",
    "StateTableName": "EniFailover-State",
    "DeadLetterQueueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/dead",
    "StateRuleName": "EniFailover-instance-state",
}


def test_outputs_of_a_deployed_stack() -> None:
    parsed = StackOutputs.parse("EniFailover", OUTPUTS)
    assert parsed.function_name == OUTPUTS["FunctionName"]
    assert parsed.state_rule_name == "EniFailover-instance-state"
    assert parsed.readiness_rule_name is None  # a stack from before the schedule


def test_the_pairs_the_function_lists() -> None:
    pairs = parse_pairs("EniFailover", ANSWER)
    [web] = pairs
    assert (web.name, web.alarm_name, web.interface_ids, web.failback) == (
        "web",
        "EniFailover-web-primary-status",
        ("eni-0aaaaaaaaaaaaaaa3",),
        "manual",
    )
    assert pair_named("EniFailover", pairs, "web") == (web,)
    assert pair_named("EniFailover", pairs, None) == pairs
    assert web.side_of("i-0aaaaaaaaaaaaaaa2") == "standby"
    assert web.side_of("i-0ffffffffffffffff") is None


def test_an_unknown_pair_is_named_with_the_known_ones() -> None:
    with pytest.raises(CliError, match="no pair named 'db' in stack EniFailover; configured: web"):
        pair_named("EniFailover", parse_pairs("EniFailover", ANSWER), "db")


def test_a_stack_without_the_outputs_is_named() -> None:
    with pytest.raises(CliError, match="stack Other has no output FunctionName, StateRuleName"):
        StackOutputs.parse(
            "Other",
            {k: v for k, v in OUTPUTS.items() if k not in ("FunctionName", "StateRuleName")},
        )


def test_a_function_that_lists_no_pairs_as_expected_is_named() -> None:
    with pytest.raises(CliError, match="the function did not list its pairs"):
        parse_pairs("EniFailover", {"pairs": [{"name": "web"}]})


def test_a_pair_of_addresses_only_reaches_the_cli_as_the_function_lists_it() -> None:
    # Given the function's list holding a pair of routes and an Elastic IP, no interface
    listed = Pair(
        name="edge",
        primary_instance_id="i-0aaaaaaaaaaaaaaa1",
        standby_instance_id="i-0aaaaaaaaaaaaaaa2",
        route_table_ids=("rtb-0aaaaaaaaaaaaaaa3",),
        route_cidrs=("10.9.0.10/32",),
        eip_allocation_ids=("eipalloc-0aaaaaaaaaaaaaaa4",),
    ).model_dump(mode="json")

    [pair] = parse_pairs("EniFailover", {"pairs": [listed]})

    # Then the CLI knows every address of it
    assert pair.interface_ids == ()
    assert pair.route_table_ids == ("rtb-0aaaaaaaaaaaaaaa3",)
    assert pair.route_cidrs == ("10.9.0.10/32",)
    assert pair.eip_allocation_ids == ("eipalloc-0aaaaaaaaaaaaaaa4",)
    assert pair.has_addresses
