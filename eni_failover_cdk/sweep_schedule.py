"""The sweep: every minute the function compares EC2's view with where the interfaces are.

EventBridge delivers EC2 state-change events on a best-effort basis, with no published
delivery guarantee. A lost "stopped" or "terminated" event must not leave a failed primary
holding its interface until someone looks, so the function is asked every minute, whether
or not any pair is probed, and sends itself a trigger for a failed primary it finds still
holding one (eni_failover answers {"action": "sweep"}).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from eni_failover.contract import SWEEP_REQUEST
from eni_failover_cdk.schedules import invoke_on_schedule

# EventBridge fires at most once a minute; that is the sweep's whole latency budget.
SWEEP_SCHEDULE = "rate(1 minute)"
# A sweep not delivered within a minute is superseded by the next one; EventBridge's least.
SWEEP_EVENT_AGE = Duration.seconds(60)


class SweepSchedule(Construct):
    """An EventBridge schedule that asks the function to sweep every pair each minute."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        # A sweep EventBridge could not deliver for a minute goes to the dead-letter queue,
        # whose alarm tells the operators that missed events are not being caught.
        self.rule = invoke_on_schedule(
            self,
            "Rule",
            function=function,
            schedule=SWEEP_SCHEDULE,
            description="ENI Failover: every minute, looks for a failed primary still holding "
            "its interface (catches a missed EC2 state-change event)",
            request=SWEEP_REQUEST,
            max_event_age=SWEEP_EVENT_AGE,
            dead_letter_queue=dead_letter_queue,
        )
