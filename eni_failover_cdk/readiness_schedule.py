"""The scheduled readiness check: the function verifies, with its own permissions, that a
failover would succeed right now, and announces a change of the verdict.

A broken failover path (a lost permission, a stopped standby, an interface moved by hand)
is then found on an ordinary day, not during the failure it exists for. The function
remembers the last verdict in the pair record and stays quiet while it does not change
(eni_failover.operations.check with scheduled=True).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from eni_failover.contract import SCHEDULED_CHECK_REQUEST
from eni_failover_cdk.schedules import invoke_on_schedule


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
        # An undeliverable check lands in the same dead-letter queue as every other
        # undeliverable trigger.
        self.rule = invoke_on_schedule(
            self,
            "Rule",
            function=function,
            schedule=schedule,
            description="ENI Failover: checks that a failover of every pair would succeed, "
            "and announces a change",
            request=SCHEDULED_CHECK_REQUEST,
            max_event_age=Duration.seconds(max_event_age_seconds),
            dead_letter_queue=dead_letter_queue,
        )
