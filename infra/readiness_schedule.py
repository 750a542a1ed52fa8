"""The scheduled readiness check: the function verifies, with its own permissions, that a
failover would succeed right now, and announces a change of the verdict.

A broken failover path (a lost permission, a stopped standby, an interface moved by hand)
is then found on an ordinary day, not during the failure it exists for. The function
remembers the last verdict in the pair record and stays quiet while it does not change
(eni_failover.operations.check with scheduled=True).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# The operator request the function receives (eni_failover.operations.OperatorRequest):
# every pair, announced only when its readiness changes.
READINESS_REQUEST: dict[str, Any] = {"action": "check", "scheduled": True}


class ReadinessSchedule(Construct):
    """An EventBridge schedule that invokes the function with a readiness request."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        schedule: str,
        max_event_age_seconds: int,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            description="ENI Failover: checks that a failover of every pair would succeed, "
            "and announces a change",
            schedule=events.Schedule.expression(schedule),
        )
        # EventBridge invokes the function asynchronously: a function error gets the
        # function's own retries and on-failure queue; an invoke EventBridge cannot make
        # (throttled past the event age, permission lost) lands in the same dead-letter
        # queue as every other undeliverable trigger.
        self.rule.add_target(
            targets.LambdaFunction(
                function,
                event=events.RuleTargetInput.from_object(READINESS_REQUEST),
                dead_letter_queue=dead_letter_queue,
                max_event_age=Duration.seconds(max_event_age_seconds),
            )
        )
