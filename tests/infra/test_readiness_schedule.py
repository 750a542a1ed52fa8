"""The scheduled readiness check: a rule that asks the function, daily, whether a failover
would succeed, with the request the function itself parses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eni_failover.operations import parse_request
from eni_failover_cdk.settings import DeploymentSettings, SettingsError, read_settings
from tests.infra.conftest import SINGLE_PAIR_CONTEXT, Synthesized


def readiness_rule(synth: Synthesized) -> dict[str, Any]:
    return synth.properties(synth.stack.readiness.rule)


def settings_with(**context: Any) -> DeploymentSettings:
    return read_settings({**SINGLE_PAIR_CONTEXT, **context}.get)


def test_rule_invokes_the_function_daily_with_a_scheduled_check(single_pair: Synthesized) -> None:
    # Given the stack without a readinessSchedule in its context
    # When its readiness rule is read
    rule = readiness_rule(single_pair)
    # Then it runs once a day and targets the failover function only
    assert rule["ScheduleExpression"] == "rate(1 day)"
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["Arn"] == single_pair.arn(single_pair.stack.failover.function)
    # And the input is a request the function accepts as a scheduled check of every pair
    request = parse_request(json.loads(target["Input"]))
    assert (request.action, request.scheduled, request.pair) == ("check", True, None)


def test_undeliverable_checks_land_in_the_dead_letter_queue_within_the_event_age(
    single_pair: Synthesized,
) -> None:
    # Given the rule's target
    (target,) = readiness_rule(single_pair)["Targets"]
    # Then EventBridge gives up after the function's own maximum event age, into the
    # queue every other undeliverable trigger goes to
    assert target["DeadLetterConfig"] == {
        "Arn": single_pair.arn(single_pair.stack.dead_letters.queue)
    }
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 3600
    # And EventBridge may write to that (encrypted) queue for this rule only
    statements = [
        statement
        for policy in single_pair.of_type("AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    sources = [s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in statements]
    assert single_pair.arn(single_pair.stack.readiness.rule) in sources


def test_only_this_rule_may_invoke_the_function_through_eventbridge(
    single_pair: Synthesized,
) -> None:
    # Given the function's resource policy
    function = single_pair.arn(single_pair.stack.failover.function)
    permissions = [
        p["Properties"]
        for p in single_pair.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == function
        and p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    # Then EventBridge may invoke it on behalf of the readiness and sweep rules, no other
    assert sorted(json.dumps(p["SourceArn"]) for p in permissions) == sorted(
        json.dumps(single_pair.arn(rule))
        for rule in (single_pair.stack.readiness.rule, single_pair.stack.sweep.rule)
    )


def test_the_operator_tool_finds_the_rule_in_the_outputs(single_pair: Synthesized) -> None:
    outputs = single_pair.template.to_json()["Outputs"]
    rule = single_pair.stack.readiness.rule
    assert outputs["ReadinessRuleName"]["Value"] == single_pair.ref(rule)


def test_the_request_is_the_one_the_function_parses(single_pair: Synthesized) -> None:
    # Given the request the rule sends
    (target,) = readiness_rule(single_pair)["Targets"]
    request = json.loads(target["Input"])
    # Then it is a scheduled check of every pair, and the function's model reads all of it
    assert request == {"action": "check", "scheduled": True}
    assert parse_request(request).model_dump(exclude_defaults=True) == request


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("rate(12 hours)", "rate(12 hours)"),
        ("rate(1 hour)", "rate(1 hour)"),
        ("cron(0 6 * * ? *)", "cron(0 6 * * ? *)"),
        ("  rate(2   days) ", "rate(2 days)"),
    ],
)
def test_schedule_comes_from_the_context(given: str, expected: str) -> None:
    assert settings_with(readinessSchedule=given).readiness_schedule == expected


@pytest.mark.parametrize(
    "given", ["daily", "rate(1 days)", "rate(2 day)", "rate(0 hours)", "cron(0 6 * * *)", 3]
)
def test_a_schedule_eventbridge_would_reject_stops_synth_naming_the_key(given: object) -> None:
    with pytest.raises(SettingsError) as raised:
        settings_with(readinessSchedule=given)
    assert str(raised.value).startswith("readinessSchedule: ")
    assert "rate(1 day)" in str(raised.value)
