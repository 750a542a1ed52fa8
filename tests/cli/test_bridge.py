"""The sandbox's stand-ins for what moto does not do: alarm actions and SNS-to-Lambda.

The alarm message must be the one CloudWatch sends (the function parses it), and every
state change must be acted on once, however quickly the changes come.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pytest

from eni_failover.triggers import TriggerKind, parse_message
from eni_failover_emulator.bridge import AlarmActions, TriggerDelivery, describe_delivery
from eni_failover_emulator.endpoint import ACCOUNT_ID, REGION
from tests.cli.conftest import PAIR, RunningSandbox
from tests.support import load_event

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

TEST_ALARM = "bridge-test-alarm"
TEST_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:bridge-test"


@dataclass
class RecordingTopic:
    """Stands in for SNS: keeps what was published."""

    published: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, **message: Any) -> dict[str, str]:
        self.published.append(message)
        return {"MessageId": str(len(self.published))}


@pytest.fixture
def alarm(
    sandbox: RunningSandbox,
) -> Iterator[tuple[RunningSandbox, RecordingTopic, AlarmActions]]:
    """An alarm of its own (the sandbox's bridge does not watch it), as the stack makes one."""
    sandbox.sandbox.clients.cloudwatch.put_metric_alarm(
        AlarmName=TEST_ALARM,
        AlarmDescription="Status checks of the primary",
        Namespace="AWS/EC2",
        MetricName="StatusCheckFailed",
        Dimensions=[{"Name": "InstanceId", "Value": sandbox.sandbox.topology.primary_instance_id}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=2,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="missing",
        AlarmActions=[TEST_TOPIC],
    )
    topic = RecordingTopic()
    actions = AlarmActions(
        cast("SNSClient", topic), alarm_names=[TEST_ALARM], account_id=ACCOUNT_ID, region=REGION
    )
    yield sandbox, topic, actions
    actions.close()


def set_state(sandbox: RunningSandbox, state: str) -> None:
    sandbox.sandbox.clients.cloudwatch.set_alarm_state(
        AlarmName=TEST_ALARM,
        StateValue=state,  # type: ignore[arg-type]
        StateReason=f"test sets {state}",
    )


def test_alarm_message_is_cloudwatchs_and_the_function_parses_it(
    alarm: tuple[RunningSandbox, RecordingTopic, AlarmActions],
) -> None:
    sandbox, topic, actions = alarm
    # When the alarm goes to ALARM
    set_state(sandbox, "ALARM")
    [change] = actions.poll()
    # Then CloudWatch's message goes to the alarm's action, with CloudWatch's subject
    [published] = topic.published
    assert change.published_to == (TEST_TOPIC,)
    assert published["TopicArn"] == TEST_TOPIC
    assert published["Subject"] == f'ALARM: "{TEST_ALARM}" in US East (N. Virginia)'
    # And it has every field of a real alarm message (tests/events), and their forms
    message = json.loads(published["Message"])
    real = json.loads(load_event("alarm-status-check-failed.json")["Records"][0]["Sns"]["Message"])
    assert set(message) == set(real)
    assert set(message["Trigger"]) - {"DatapointsToAlarm"} <= set(real["Trigger"])
    assert message["Trigger"]["Statistic"] == "MAXIMUM"
    assert message["Trigger"]["Dimensions"] == [
        {"value": sandbox.sandbox.topology.primary_instance_id, "name": "InstanceId"}
    ]
    assert message["Region"] == "US East (N. Virginia)"
    assert (message["OldStateValue"], message["NewStateValue"]) == ("OK", "ALARM")
    # And the function reads it as the alarm trigger it is
    trigger = parse_message(published["Message"], message_id="m-1")
    assert trigger.kind is TriggerKind.ALARM
    assert (trigger.source, trigger.state, trigger.is_failure) == (TEST_ALARM, "ALARM", True)
    assert trigger.instance_id == sandbox.sandbox.topology.primary_instance_id
    assert (trigger.account_id, trigger.region) == (ACCOUNT_ID, REGION)
    assert trigger.reason == "test sets ALARM"


def test_every_change_counts_even_between_two_polls(
    alarm: tuple[RunningSandbox, RecordingTopic, AlarmActions],
) -> None:
    sandbox, topic, actions = alarm
    # Given the alarm flaps faster than the bridge looks
    for state in ("ALARM", "OK", "ALARM"):
        set_state(sandbox, state)
    # When the bridge looks
    changes = actions.poll()
    # Then it acted on each change: two ALARMs published, the OK (no action) not
    assert [(c.old.value, c.new.value) for c in changes] == [
        ("OK", "ALARM"),
        ("ALARM", "OK"),
        ("OK", "ALARM"),
    ]
    assert [c.skipped for c in changes] == [None, "no SNS action for OK", None]
    assert len(topic.published) == 2
    # And two ALARM messages are two triggers (distinct change times)
    ids = {parse_message(p["Message"], message_id="m").trigger_id for p in topic.published}
    assert len(ids) == 2
    # When the alarm is set to the state it is in, that is no change: nothing happens
    set_state(sandbox, "ALARM")
    assert actions.poll() == []


def test_disabled_actions_publish_nothing(
    alarm: tuple[RunningSandbox, RecordingTopic, AlarmActions],
) -> None:
    sandbox, topic, actions = alarm
    sandbox.sandbox.clients.cloudwatch.disable_alarm_actions(AlarmNames=[TEST_ALARM])
    set_state(sandbox, "ALARM")
    [change] = actions.poll()
    assert change.skipped == "alarm actions are disabled"
    assert topic.published == []


def test_actions_are_decided_when_the_alarm_changes_not_when_the_bridge_looks(
    alarm: tuple[RunningSandbox, RecordingTopic, AlarmActions],
) -> None:
    sandbox, topic, actions = alarm
    cloudwatch = sandbox.sandbox.clients.cloudwatch
    # Given the alarm went off while its actions were disabled (a paused pair)
    cloudwatch.disable_alarm_actions(AlarmNames=[TEST_ALARM])
    set_state(sandbox, "ALARM")
    # And the actions were enabled again before the bridge looked (a quick resume)
    cloudwatch.enable_alarm_actions(AlarmNames=[TEST_ALARM])
    # Then that change still publishes nothing, as in CloudWatch
    [change] = actions.poll()
    assert change.skipped == "alarm actions are disabled"
    assert topic.published == []


def test_a_failed_invocation_is_reported_not_lost_silently(sandbox: RunningSandbox) -> None:
    clients = sandbox.sandbox.clients
    queue_url = clients.sqs.create_queue(QueueName="bridge-test-deliveries")["QueueUrl"]
    queue_arn = clients.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    topic_arn = clients.sns.create_topic(Name="bridge-test-trigger")["TopicArn"]
    subscription = clients.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    received: list[dict[str, Any]] = []

    def failing_function(event: dict[str, Any]) -> dict[str, Any]:
        received.append(event)
        raise RuntimeError("boom")

    delivery = TriggerDelivery(
        clients.sqs,
        queue_url=queue_url,
        subscription_arn=subscription["SubscriptionArn"],
        invoke=failing_function,
    )
    clients.sns.publish(TopicArn=topic_arn, Message='{"hello": "function"}')
    [result] = delivery.poll()
    # The function got the event Lambda's SNS source builds
    [event] = received
    [record] = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["Sns"]["Message"] == '{"hello": "function"}'
    assert record["EventSubscriptionArn"] == subscription["SubscriptionArn"]
    # And the failure is said, with what Lambda would do about it
    assert result.error == "RuntimeError: boom"
    assert "FAILED RuntimeError: boom (Lambda would retry twice" in describe_delivery(result)


def test_the_template_alarm_and_rules_are_deployed_as_synthesized(
    sandbox: RunningSandbox,
) -> None:
    clients, outputs = sandbox.sandbox.clients, sandbox.sandbox.info.outputs
    topology = sandbox.sandbox.topology
    # The pair's alarm acts on the trigger topic and watches the primary: both of its
    # metrics (StatusCheckFailed and StatusCheckFailed_AttachedEBS) have it as dimension
    [alarm] = clients.cloudwatch.describe_alarms(AlarmNames=[sandbox.alarm_name])["MetricAlarms"]
    assert alarm["AlarmActions"] == [outputs["TriggerTopicArn"]]
    stats = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
    assert [s["Metric"]["MetricName"] for s in stats] == [
        "StatusCheckFailed",
        "StatusCheckFailed_AttachedEBS",
    ]
    for stat in stats:
        assert stat["Metric"]["Dimensions"] == [
            {"Name": "InstanceId", "Value": topology.primary_instance_id}
        ]
        assert stat["Stat"] == "Maximum"
    assert alarm["TreatMissingData"] == "missing"
    # The state rule targets the trigger topic
    [state_target] = clients.events.list_targets_by_rule(Rule=sandbox.rule_name)["Targets"]
    assert state_target["Arn"] == outputs["TriggerTopicArn"]
    # The readiness rule runs daily and its input is a request the function answers
    rule = clients.events.describe_rule(Name=outputs["ReadinessRuleName"])
    assert rule["ScheduleExpression"] == "rate(1 day)"
    [target] = clients.events.list_targets_by_rule(Rule=outputs["ReadinessRuleName"])["Targets"]
    assert target["Arn"].endswith(f":function:{outputs['FunctionName']}")
    [check] = sandbox.sandbox.function.invoke(json.loads(target["Input"]))["checks"]
    assert (check["pair"], check["verdict"]) == (PAIR, "READY")


def test_the_stacks_metric_math_alarm_message_names_the_primary_in_every_metric(
    sandbox: RunningSandbox,
) -> None:
    # Given an alarm made like the stack's (MAX of StatusCheckFailed and
    # StatusCheckFailed_AttachedEBS), publishing to a topic of its own
    cloudwatch = sandbox.sandbox.clients.cloudwatch
    [stacks] = cloudwatch.describe_alarms(AlarmNames=[sandbox.alarm_name])["MetricAlarms"]
    cloudwatch.put_metric_alarm(
        AlarmName=TEST_ALARM,
        Metrics=stacks["Metrics"],
        EvaluationPeriods=stacks["EvaluationPeriods"],
        Threshold=stacks["Threshold"],
        ComparisonOperator=stacks["ComparisonOperator"],
        TreatMissingData="missing",
        AlarmActions=[TEST_TOPIC],
    )
    topic = RecordingTopic()
    actions = AlarmActions(
        cast("SNSClient", topic), alarm_names=[TEST_ALARM], account_id=ACCOUNT_ID, region=REGION
    )
    try:
        # When it goes to ALARM
        set_state(sandbox, "ALARM")
        actions.poll()
    finally:
        actions.close()

    # Then its message carries Trigger.Metrics in CloudWatch's form (tests/events), not
    # MetricName and Dimensions, and each metric's only dimension is the primary
    [published] = topic.published
    trigger = json.loads(published["Message"])["Trigger"]
    real = json.loads(load_event("alarm-metric-math.json")["Records"][0]["Sns"]["Message"])
    assert "MetricName" not in trigger
    assert "Dimensions" not in trigger
    assert set(trigger) - {"EvaluateLowSampleCountPercentile"} <= set(real["Trigger"])
    [expression] = [m for m in trigger["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "MAX([checks, ebs])"
    assert expression["ReturnData"] is True
    stats = {m["Id"]: m["MetricStat"] for m in trigger["Metrics"] if "MetricStat" in m}
    assert {i: s["Metric"]["MetricName"] for i, s in stats.items()} == {
        "checks": "StatusCheckFailed",
        "ebs": "StatusCheckFailed_AttachedEBS",
    }
    primary = sandbox.sandbox.topology.primary_instance_id
    for stat in stats.values():
        assert stat["Metric"]["Dimensions"] == [{"value": primary, "name": "InstanceId"}]
        assert (stat["Period"], stat["Stat"]) == (60, "Maximum")
    # And the function reads it as this alarm's failure trigger
    parsed = parse_message(published["Message"], message_id="m-1")
    assert (parsed.kind, parsed.source, parsed.is_failure) == (TriggerKind.ALARM, TEST_ALARM, True)
