"""Any alarm as a trigger: an EventBridge rule routes the named alarms' changes to ALARM to
the trigger topic (as many rules as their ARNs need: test_scale_limits), and the function
may read those alarms' states, and no others."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.conftest import SINGLE_PAIR_CONTEXT, Synthesized, as_list, render, synthesize

ALARM_ARN = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
PAIRS: list[dict[str, Any]] = [
    {
        "name": "web",
        "primaryInstanceId": "i-0aaaaaaaaaaaaaaa1",
        "standbyInstanceId": "i-0aaaaaaaaaaaaaaa2",
        "eniIds": ["eni-0aaaaaaaaaaaaaaa3"],
        "triggerAlarms": ["web-unhealthy", "web-5xx"],
    },
    {
        "name": "db",
        "primaryInstanceId": "i-0bbbbbbbbbbbbbbb1",
        "standbyInstanceId": "i-0bbbbbbbbbbbbbbb2",
        "eniIds": ["eni-0bbbbbbbbbbbbbbb3"],
        "triggerAlarms": "db-heartbeat",
    },
    {
        "name": "cache",
        "primaryInstanceId": "i-0ccccccccccccccc1",
        "standbyInstanceId": "i-0ccccccccccccccc2",
        "eniIds": ["eni-0ccccccccccccccc3"],
    },
]


@pytest.fixture(scope="module")
def alarmed(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = {"pairs": PAIRS, "notifyEmail": "ops@example.com"}
    return synthesize(context, tmp_path_factory.mktemp("alarmed"))


def alarm_rule(synth: Synthesized) -> dict[str, Any]:
    triggers = synth.stack.alarm_triggers
    assert triggers is not None
    (rule,) = triggers.rules  # three alarms fit one rule
    return synth.properties(rule)


def test_one_rule_routes_every_named_alarm_changing_to_alarm(alarmed: Synthesized) -> None:
    # Given three pairs, two of which name alarms
    rule = alarm_rule(alarmed)
    pattern = rule["EventPattern"]
    # Then one rule matches CloudWatch's state-change events of exactly those alarms, by ARN
    assert pattern["source"] == ["aws.cloudwatch"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert [render(r) for r in pattern["resources"]] == [
        ALARM_ARN + "web-unhealthy",
        ALARM_ARN + "web-5xx",
        ALARM_ARN + "db-heartbeat",
    ]
    # And only changes to ALARM: OK and INSUFFICIENT_DATA never act
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}
    assert rule["State"] == "ENABLED"


def test_the_rule_publishes_to_the_trigger_topic_like_every_trigger(alarmed: Synthesized) -> None:
    stack = alarmed.stack
    (target,) = alarm_rule(alarmed)["Targets"]
    assert target["Arn"] == alarmed.ref(stack.triggers.topic)
    # The whole event, as EventBridge sends it: the function parses that
    assert "Input" not in target
    assert "InputTransformer" not in target
    # And an undeliverable one waits in the dead-letter queue, retried as long as the
    # state-change rules retry theirs
    assert target["DeadLetterConfig"] == {"Arn": alarmed.arn(stack.dead_letters.queue)}
    (state_rule_target,) = alarmed.properties(stack.triggers.state_rule)["Targets"]
    assert target["RetryPolicy"] == state_rule_target["RetryPolicy"]


def test_the_trigger_topic_lets_this_rule_publish_by_its_arn_only(alarmed: Synthesized) -> None:
    # Given the trigger topic's and the dead-letter queue's policies
    stack = alarmed.stack
    triggers = stack.alarm_triggers
    assert triggers is not None
    (rule,) = triggers.rules
    source = {"ArnEquals": {"aws:SourceArn": alarmed.arn(rule)}}

    def eventbridge_statements(resource_type: str, key: str, target: Any) -> list[Any]:
        return [
            s
            for p in alarmed.of_type(resource_type).values()
            if target in p["Properties"][key]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if s["Principal"] == {"Service": "events.amazonaws.com"}
        ]

    topic = eventbridge_statements(
        "AWS::SNS::TopicPolicy", "Topics", alarmed.ref(stack.triggers.topic)
    )
    queue = eventbridge_statements(
        "AWS::SQS::QueuePolicy", "Queues", alarmed.ref(stack.dead_letters.queue)
    )
    # Then EventBridge may publish for this rule, conditioned on its ARN, and dead-letter too
    (publish,) = [s for s in topic if s.get("Condition") == source]
    assert publish["Action"] == "sns:Publish"
    assert publish["Resource"] == alarmed.ref(stack.triggers.topic)
    (dead_letter,) = [s for s in queue if s.get("Condition") == source]
    assert dead_letter["Action"] == "sqs:SendMessage"
    # And no EventBridge statement on the topic is unconditioned
    assert all("aws:SourceArn" in s["Condition"]["ArnEquals"] for s in topic)


def test_the_function_reads_the_named_alarms_only(alarmed: Synthesized) -> None:
    # Given the failover role's statements, inline and managed
    role = alarmed.ref(alarmed.stack.failover.role)
    statements = [
        s
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for p in alarmed.of_type(kind).values()
        if role in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if any(a.startswith("cloudwatch:") for a in as_list(s["Action"]))
    ]
    # Then DescribeAlarms, which takes alarm ARNs, is granted on those alarms, never on "*"
    (statement,) = statements
    assert statement["Sid"] == "ReadTriggerAlarmStates"
    assert statement["Action"] == "cloudwatch:DescribeAlarms"
    assert [render(r) for r in as_list(statement["Resource"])] == [
        ALARM_ARN + "web-unhealthy",
        ALARM_ARN + "web-5xx",
        ALARM_ARN + "db-heartbeat",
    ]


def test_the_function_knows_which_pair_each_alarm_triggers(alarmed: Synthesized) -> None:
    # Given the pairs packaged beside the function's code
    config = alarmed.packaged_config(alarmed.stack.failover.function)
    # Then each pair carries the alarms that trigger it, in the order given, and the pair
    # that names none carries none: no alarm of another pair moves its interfaces
    assert {p.name: p.trigger_alarms for p in config.pairs} == {
        "web": ("web-unhealthy", "web-5xx"),
        "db": ("db-heartbeat",),
        "cache": (),
    }


def test_no_trigger_alarm_no_rule_and_no_grant(single_pair: Synthesized) -> None:
    assert "triggerAlarms" not in SINGLE_PAIR_CONTEXT
    assert single_pair.stack.alarm_triggers is None
    patterns = [
        r["Properties"].get("EventPattern", {})
        for r in single_pair.of_type("AWS::Events::Rule").values()
    ]
    assert not [p for p in patterns if p.get("source") == ["aws.cloudwatch"]]
    actions = [
        a
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for p in single_pair.of_type(kind).values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        for a in as_list(s["Action"])
    ]
    assert "cloudwatch:DescribeAlarms" not in actions
