"""Where triggers that could not be handled end up, and the alarm that says so."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from eni_failover_cdk.nag import acknowledge

RETENTION = Duration.days(14)  # SQS's maximum: time for an operator to look


class DeadLetters(Construct):
    """One encrypted queue for every undeliverable or failed trigger.

    It receives what the trigger topic could not deliver to the function, what EventBridge
    could not publish, invocations that failed after their retries, and records the function
    itself could not parse. Any message in it is an operator's business.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=RETENTION,
        )
        acknowledge(
            self.queue,
            "AwsSolutions-SQS3",
            reason="This queue is itself the dead-letter queue of the trigger topic's "
            "subscription, the EventBridge targets and the function's failed invocations; "
            "its messages are for an operator, and an alarm reports the first one.",
        )

    def alarm_on_messages(self, *, alarm_name: str, topic: sns.ITopic) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            "MessagesAlarm",
            alarm_name=alarm_name,
            alarm_description=(
                "ENI Failover: a trigger could not be handled and waits in the dead-letter "
                "queue; inspect it, then the pair"
            ),
            metric=self.queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        return alarm
