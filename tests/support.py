"""Builders for real-format events and small fakes shared by the tests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).parent / "events"
ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
TRIGGER_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:eni-failover-trigger"


def load_event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def sns_event(
    *messages: str | dict[str, Any], message_ids: list[str] | None = None
) -> dict[str, Any]:
    """The event Lambda receives from an SNS subscription, one record per message."""
    records = []
    for index, message in enumerate(messages):
        message_id = message_ids[index] if message_ids else str(uuid.uuid4())
        body = message if isinstance(message, str) else json.dumps(message)
        records.append(
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{TRIGGER_TOPIC_ARN}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": TRIGGER_TOPIC_ARN,
                    "Subject": None,
                    "Message": body,
                    "Timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        )
    return {"Records": records}


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


@dataclass
class FakeClock:
    """Time that moves only when the code sleeps: polling tests run instantly."""

    current: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 9, 15, tzinfo=UTC))
    ticks: float = 0.0
    slept: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.current + timedelta(seconds=self.ticks)

    def monotonic(self) -> float:
        return self.ticks

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.ticks += seconds
