"""The failover's AWS surroundings, created in moto: what `cdk deploy` would create.

A state table, the notification topic with an SQS subscription standing in for the
operators' inboxes (moto delivers SNS to SQS), and the dead-letter queue; then the
function's real Dispatcher wired to them. Tests, `make demo`, the CLI's local mode and
the benchmarks all drive the failover through this, not through a copy of it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.delivery import drain
from eni_failover import failover
from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig, Settings
from eni_failover.handler import Dispatcher
from eni_failover.observability import metrics
from eni_failover.timeline import Clock, SystemClock

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"


@dataclass
class FakeLambdaContext:
    """The parts of LambdaContext the function uses; each invocation gets a request ID."""

    remaining_seconds: float = 60.0
    function_name: str = "eni-failover"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:eni-failover"

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_seconds * 1000)


@dataclass
class Resources:
    """Names of what the stack would create, once created in the emulator."""

    state_table_name: str
    notification_topic_arn: str
    dead_letter_queue_url: str
    inbox_queue_url: str  # SQS subscribed to the notification topic: the "inbox"


def create_resources(clients: AwsClients, *, prefix: str = "eni-failover") -> Resources:
    table = f"{prefix}-state"
    clients.dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic_arn = clients.sns.create_topic(Name=f"{prefix}-notifications")["TopicArn"]
    inbox_url = clients.sqs.create_queue(QueueName=f"{prefix}-inbox")["QueueUrl"]
    inbox_arn = clients.sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    clients.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
    dead_letter_url = clients.sqs.create_queue(QueueName=f"{prefix}-dead-letters")["QueueUrl"]
    return Resources(
        state_table_name=table,
        notification_topic_arn=topic_arn,
        dead_letter_queue_url=dead_letter_url,
        inbox_queue_url=inbox_url,
    )


@dataclass
class LocalDeployment:
    """A deployed failover, in the emulator: deliver events, read what operators got."""

    clients: AwsClients
    resources: Resources
    settings: Settings
    dispatcher: Dispatcher

    @classmethod
    def create(
        cls,
        failover_config: FailoverConfig,
        *,
        clients: AwsClients | None = None,
        resources: Resources | None = None,
        clock: Clock | None = None,
    ) -> LocalDeployment:
        clients = clients or AwsClients(
            region=REGION, max_attempts=failover_config.tuning.api_max_attempts
        )
        resources = resources or create_resources(clients)
        settings = Settings(
            failover=failover_config,
            notification_topic_arn=resources.notification_topic_arn,
            dead_letter_queue_url=resources.dead_letter_queue_url,
            state_table_name=resources.state_table_name,
            account_id=ACCOUNT_ID,
            region=REGION,
        )
        runtime = failover.Runtime(
            settings=settings,
            clients=clients,
            clock=clock or SystemClock(),
        )
        return cls(clients, resources, settings, Dispatcher(runtime))

    def invoke(self, event: Any, context: FakeLambdaContext | None = None) -> dict[str, Any]:
        """What Lambda does with an event: call the handler's dispatcher with a context."""
        try:
            return self.dispatcher.on_event(event, context or FakeLambdaContext())  # type: ignore[arg-type]
        finally:
            # Lambda's handler flushes metrics after each invocation (log_metrics); here
            # they are dropped, or Powertools would refuse the 101st metric of a long test.
            metrics.clear_metrics()

    def notifications(self) -> list[dict[str, Any]]:
        """Every notification published so far, oldest first, taken off the inbox."""
        received = []
        for body in drain(self.clients.sqs, self.resources.inbox_queue_url):
            envelope = json.loads(body)
            received.append(
                {
                    "subject": envelope.get("Subject"),
                    "message": envelope["Message"],
                    "attributes": {
                        k: v.get("Value") for k, v in envelope.get("MessageAttributes", {}).items()
                    },
                }
            )
        return received

    def dead_letters(self) -> list[dict[str, Any]]:
        return [
            json.loads(b) for b in drain(self.clients.sqs, self.resources.dead_letter_queue_url)
        ]
