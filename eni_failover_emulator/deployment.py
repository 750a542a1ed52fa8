"""The failover deployed in moto: what `cdk deploy` would create, and the function on it.

The resources come from the synthesized template (eni_failover_emulator.template.deploy): the state
table with its keys and time-to-live attribute, the topics and their subscriptions, the
dead-letter queue, and an SQS subscription standing in for the operators' inboxes (moto
delivers SNS to SQS). The function's real Dispatcher runs on them with the environment the
template gives it, for the pairs and tuning the caller chooses. Tests and the benchmarks
drive the failover through this, not through a copy of it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eni_failover import failover
from eni_failover.clients import AwsClients
from eni_failover.config import ENV_REGION, FailoverConfig, Settings
from eni_failover.handler import Dispatcher
from eni_failover.observability import metrics
from eni_failover.timeline import Clock, SystemClock
from eni_failover_emulator.delivery import (
    Invocation,
    drain,
    invoke_each_at_once,
    sns_delivery,
    take_lambda_events,
)
from eni_failover_emulator.endpoint import ACCOUNT_ID, REGION
from eni_failover_emulator.events import forwarded
from eni_failover_emulator.template import DeployedFunction, deploy, pair_context, synthesize

# Any one pair will do: a deployment takes only the resources from the template and runs
# the function for the pairs it is given.
SAMPLE_CONTEXT = pair_context(
    primary_instance_id="i-0123456789abcdef0",
    standby_instance_id="i-0fedcba9876543210",
    interface_id="eni-0123456789abcdef0",
    notify_email="ops@example.com",
)


def sample_template(outdir: Path) -> dict[str, Any]:
    """The stack synthesized for SAMPLE_CONTEXT (about 15 s: synthesize once, deploy often)."""
    return synthesize(SAMPLE_CONTEXT, outdir)


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
class LocalDeployment:
    """A deployed failover, in the emulator: deliver events, read what operators got."""

    clients: AwsClients
    resources: DeployedFunction
    settings: Settings
    dispatcher: Dispatcher

    @classmethod
    def from_template(
        cls,
        failover_config: FailoverConfig,
        template: dict[str, Any],
        *,
        clients: AwsClients | None = None,
        clock: Clock | None = None,
    ) -> LocalDeployment:
        """Create the template's resources, then deploy the function on them."""
        clients = clients or _function_clients(failover_config)
        return cls.create(
            failover_config, resources=deploy(template, clients), clients=clients, clock=clock
        )

    @classmethod
    def create(
        cls,
        failover_config: FailoverConfig,
        *,
        resources: DeployedFunction,
        clients: AwsClients | None = None,
        clock: Clock | None = None,
    ) -> LocalDeployment:
        """The function for these pairs and tuning, on resources already created."""
        clients = clients or _function_clients(failover_config)
        # Read as Lambda's cold start reads it: the template's environment, and the region
        # the Lambda runtime sets; the pairs are this deployment's own.
        environment = {**resources.environment, ENV_REGION: REGION}
        settings = Settings.from_environment(environment, failover=failover_config)
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

    def environment(self) -> LocalDeployment:
        """Another execution environment of this function (its own Dispatcher), on the same
        resources, clients and clock."""
        return LocalDeployment.create(
            self.settings.failover,
            resources=self.resources,
            clients=self.clients,
            clock=self.dispatcher.runtime.clock,
        )

    def deliver_triggers(self) -> list[Invocation]:
        """What the trigger topic delivered to the function's subscription since the last
        call (a sweep's hand-offs, say), each run as Lambda runs SNS deliveries: an
        asynchronous invocation apiece, in an environment of its own, all at once."""
        events = take_lambda_events(
            self.clients.sqs,
            self.resources.trigger_delivery_queue_url,
            self.resources.trigger_subscription_arn,
        )
        return invoke_each_at_once(events, lambda event: self.environment().invoke(event))

    def put_event(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """What EventBridge does with an event of the account: each of the stack's rules
        whose pattern matches it publishes it to the trigger topic, and the function is
        invoked once per delivery. An event no rule matches never reaches the function."""
        return [
            self.invoke(sns_delivery(event, topic_arn=self.resources.trigger_topic_arn))
            for _ in range(forwarded(event, self.resources.trigger_patterns))
        ]

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


def _function_clients(failover_config: FailoverConfig) -> AwsClients:
    return AwsClients(region=REGION, max_attempts=failover_config.tuning.api_max_attempts)
