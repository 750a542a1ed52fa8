"""The stack's "detection degraded" alarm, evaluated as CloudWatch would, when the prober
stops: the operators are told, and the notice goes nowhere that could move an interface."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from eni_failover.cloudwatch import put_probe_metrics
from eni_failover_emulator.alarm_evaluation import evaluate
from eni_failover_emulator.bridge import AlarmActions
from eni_failover_emulator.delivery import drain
from tests.infra.conftest import Synthesized, synthesize
from tests.infra.test_prober import PROBED_CONTEXT

REGION = "us-east-1"
ACCOUNT = "123456789012"
WINDOW = timedelta(minutes=2)  # the alarm's 2 periods of 60 s


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(PROBED_CONTEXT, tmp_path_factory.mktemp("degraded"))


@pytest.fixture
def deployed_alarm(probed: Synthesized) -> Iterator[tuple[str, str, AlarmActions, Any]]:
    """The stack's degraded alarm in moto, acting on a stand-in for the operators' topic."""
    (alarm,) = probed.template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "ProberRounds"}}
    ).values()
    properties = alarm["Properties"]
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        topic = sns.create_topic(Name="notifications")["TopicArn"]
        inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
        # The template's own properties; only the topic reference becomes moto's topic.
        cloudwatch.put_metric_alarm(
            **{
                key: value
                for key, value in properties.items()
                if key not in ("AlarmActions", "OKActions")
            },
            AlarmActions=[topic],
            OKActions=[topic],
        )
        actions = AlarmActions(
            sns, alarm_names=[properties["AlarmName"]], account_id=ACCOUNT, region=REGION
        )
        try:
            yield properties["AlarmName"], inbox, actions, cloudwatch
        finally:
            actions.close()


def test_a_silent_prober_tells_the_operators_and_moves_nothing(
    deployed_alarm: tuple[str, str, AlarmActions, Any],
) -> None:
    name, inbox, actions, cloudwatch = deployed_alarm
    sqs = boto3.client("sqs", region_name=REGION)
    # Given the prober has been reporting its rounds
    put_probe_metrics(cloudwatch, "EniFailover", samples={}, rounds=5)
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert evaluate(cloudwatch, name, now=now, window=WINDOW) == "OK"
    actions.poll()
    drain(sqs, inbox)
    # When it goes silent for the alarm's whole window
    later = now + WINDOW + timedelta(minutes=1)
    state = evaluate(cloudwatch, name, now=later, window=WINDOW)
    [change] = actions.poll()
    # Then the alarm fires on the missing heartbeat, and the operators' topic (its only
    # action: no trigger topic, so nothing can move on it) carries the notice
    assert state == "ALARM"
    assert len(change.published_to) == 1
    [received] = [json.loads(body) for body in drain(sqs, inbox)]
    message = json.loads(received["Message"])
    assert message["NewStateValue"] == "ALARM"
    assert message["AlarmDescription"].startswith("Detection degraded:")
    assert "missing data" in message["NewStateReason"]
