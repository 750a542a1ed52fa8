"""Builders for real-format events and small fakes shared by the tests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from eni_failover_emulator.endpoint import ACCOUNT_ID, REGION
from eni_failover_emulator.events import alarm_message, state_change_message

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

# The builders live in the emulator (the drill and benchmarks use them too); the tests
# import them from here with the rest of their vocabulary.
__all__ = [
    "ACCOUNT_ID",
    "EVENTS",
    "REGION",
    "TRIGGER_TOPIC_ARN",
    "FakeClock",
    "alarm_message",
    "load_event",
    "sns_event",
    "state_change_message",
]

EVENTS = Path(__file__).parent / "events"
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


def put_service_alarm(
    cloudwatch: CloudWatchClient, name: str, state: Literal["ALARM", "OK"] = "ALARM"
) -> None:
    """A service's own alarm (a load balancer's unhealthy hosts), in the given state: what
    a `triggerAlarms` entry names."""
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="UnHealthyHostCount",
        Namespace="AWS/ApplicationELB",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")
