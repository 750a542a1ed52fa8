"""The stack's outputs as the CLI reads them."""

from __future__ import annotations

import json

import pytest

from eni_cli.errors import CliError
from eni_cli.outputs import StackOutputs

PAIRS = {
    "web": {
        "alarmName": "EniFailover-web-primary-status",
        "ruleName": "EniFailover-web-primary-state",
        "primaryInstanceId": "i-0aaaaaaaaaaaaaaa1",
        "standbyInstanceId": "i-0aaaaaaaaaaaaaaa2",
        "interfaceIds": ["eni-0aaaaaaaaaaaaaaa3"],
    }
}
OUTPUTS = {
    "FunctionName": "EniFailover-FailoverFunction-abc",
    "TriggerTopicArn": "arn:aws:sns:eu-west-1:111122223333:trigger",
    "NotificationTopicArn": "arn:aws:sns:eu-west-1:111122223333:notify",
    "StateTableName": "EniFailover-State",
    "DeadLetterQueueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/dead",
    "PairsJson": json.dumps(PAIRS),
}


def test_outputs_of_a_deployed_stack() -> None:
    parsed = StackOutputs.parse("EniFailover", OUTPUTS)
    assert parsed.function_name == OUTPUTS["FunctionName"]
    assert parsed.readiness_rule_name is None  # a stack from before the schedule
    [web] = parsed.pairs
    assert (web.name, web.alarm_name, web.interface_ids) == (
        "web",
        "EniFailover-web-primary-status",
        ("eni-0aaaaaaaaaaaaaaa3",),
    )
    assert parsed.pair("web") is web
    assert web.side_of("i-0aaaaaaaaaaaaaaa2") == "standby"
    assert web.side_of("i-0ffffffffffffffff") is None


def test_a_stack_without_the_outputs_is_named() -> None:
    with pytest.raises(CliError, match="stack Other has no output FunctionName, PairsJson"):
        StackOutputs.parse(
            "Other", {k: v for k, v in OUTPUTS.items() if k not in ("FunctionName", "PairsJson")}
        )


def test_a_broken_pair_map_is_named() -> None:
    with pytest.raises(CliError, match="output PairsJson is not the pair map"):
        StackOutputs.parse("EniFailover", {**OUTPUTS, "PairsJson": '{"web": {"alarmName": 1}}'})
