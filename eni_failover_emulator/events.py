"""Trigger messages in the exact formats AWS sends them to the trigger topic.

One place for the shapes, used by the tests, the drill and the benchmarks: a CloudWatch
status-check alarm's state change (as SNS carries it) and an EC2 state-change event (as
EventBridge forwards it). tests/events/ keeps real samples of both.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from eni_failover_emulator.endpoint import ACCOUNT_ID, REGION


def forwarded(event: Mapping[str, Any], patterns: Sequence[Mapping[str, Any]]) -> int:
    """How many of the rules' event patterns match ``event``: EventBridge sends it once per
    matching rule. The matching is moto's EventBridge's, the same put_events applies."""
    # Not at the top: the CLI reaches a running sandbox through this package without moto
    # (the sandbox extra), and only the sandbox's own process forwards events.
    from moto.events.models import EventPattern  # noqa: PLC0415

    message: Any = dict(event)  # moto types it as its own TypedDict
    return len([p for p in patterns if EventPattern.load(json.dumps(p)).matches_event(message)])


def alarm_message(
    *,
    alarm_name: str,
    instance_id: str,
    state: str = "ALARM",
    at: datetime | None = None,
    account_id: str = ACCOUNT_ID,
    region: str = REGION,
) -> dict[str, Any]:
    """The JSON a CloudWatch status-check alarm publishes (see tests/events for a real one)."""
    at = at or datetime.now(UTC)
    return {
        "AlarmName": alarm_name,
        "AlarmDescription": "Status checks of the primary",
        "AWSAccountId": account_id,
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed: 2 out of the last 2 datapoints were >= 1.0",
        "StateChangeTime": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:{region}:{account_id}:alarm:{alarm_name}",
        "OldStateValue": "OK",
        "Trigger": {
            "MetricName": "StatusCheckFailed",
            "Namespace": "AWS/EC2",
            "StatisticType": "Statistic",
            "Statistic": "MAXIMUM",
            "Unit": None,
            "Dimensions": [{"value": instance_id, "name": "InstanceId"}],
            "Period": 60,
            "EvaluationPeriods": 2,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1.0,
            "TreatMissingData": "missing",
        },
    }


def metric_math_alarm_message(
    *,
    alarm_name: str,
    metrics: Sequence[tuple[str, str]],
    state: str = "ALARM",
    at: datetime | None = None,
    account_id: str = ACCOUNT_ID,
    region: str = REGION,
) -> dict[str, Any]:
    """The JSON a metric-math alarm publishes: MAX over AWS/EC2 metrics, one per (name, instance).

    Trigger.Metrics replaces MetricName and Dimensions: an Expression entry and one MetricStat
    entry per metric, whose dimensions keep the lower-case keys of the single-metric form
    (see tests/events/alarm-metric-math.json).
    """
    message = alarm_message(
        alarm_name=alarm_name,
        instance_id="",
        state=state,
        at=at,
        account_id=account_id,
        region=region,
    )
    ids = [f"m{n}" for n in range(1, len(metrics) + 1)]
    message["Trigger"] = {
        "Period": 60,
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1.0,
        "TreatMissingData": "missing",
        "EvaluateLowSampleCountPercentile": "",
        "Metrics": [
            {
                "Expression": f"MAX([{', '.join(ids)}])",
                "Id": "e1",
                "Label": "failed",
                "ReturnData": True,
            },
            *(
                {
                    "Id": metric_id,
                    "MetricStat": {
                        "Metric": {
                            "Dimensions": [{"value": instance_id, "name": "InstanceId"}],
                            "MetricName": metric_name,
                            "Namespace": "AWS/EC2",
                        },
                        "Period": 60,
                        "Stat": "Maximum",
                    },
                    "ReturnData": False,
                }
                for metric_id, (metric_name, instance_id) in zip(ids, metrics, strict=True)
            ),
        ],
    }
    return message


def state_change_message(
    *,
    instance_id: str,
    state: str,
    at: datetime | None = None,
    event_id: str | None = None,
    account_id: str = ACCOUNT_ID,
    region: str = REGION,
) -> dict[str, Any]:
    """An EC2 state-change event as EventBridge forwards it to the trigger topic."""
    at = at or datetime.now(UTC)
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": account_id,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:ec2:{region}:{account_id}:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "state": state},
    }


def alarm_change_event(
    *,
    alarm_name: str,
    state: str = "ALARM",
    at: datetime | None = None,
    account_id: str = ACCOUNT_ID,
    region: str = REGION,
) -> dict[str, Any]:
    """CloudWatch's "Alarm State Change" event, as the triggerAlarms rule forwards it."""
    at = at or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account_id,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:cloudwatch:{region}:{account_id}:alarm:{alarm_name}"],
        "detail": {
            "alarmName": alarm_name,
            "state": {
                "value": state,
                "reason": "Threshold Crossed: 1 datapoint [3.0] was greater than the threshold",
                "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
            },
            "previousState": {"value": "OK" if state == "ALARM" else "ALARM"},
        },
    }
