"""Any existing alarm as a trigger: one EventBridge rule routes the state changes of the
alarms the pairs name (`triggerAlarms`) to the trigger topic.

CloudWatch emits every alarm's state change to EventBridge, so the user's alarms are routed
without touching their actions. Only changes to ALARM are forwarded; the function still asks
CloudWatch whether the alarm is in ALARM when it acts (cloudwatch:DescribeAlarms).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.topics import TopicTarget, alarm_arn

ALARM_STATE_CHANGE_SOURCE = "aws.cloudwatch"
ALARM_STATE_CHANGE_DETAIL_TYPE = "CloudWatch Alarm State Change"
ALARM_STATE = "ALARM"


class AlarmTriggers(Construct):
    """One rule for every trigger alarm of the stack, publishing to the trigger topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alarm_names: Sequence[str],
        topic: sns.ITopic,
        event_age: Duration,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarm_arns = [alarm_arn(self, name) for name in alarm_names]
        self.rule = events.Rule(
            self,
            "Rule",
            description="ENI Failover: a trigger alarm of a pair changes to ALARM",
            event_pattern=events.EventPattern(
                source=[ALARM_STATE_CHANGE_SOURCE],
                detail_type=[ALARM_STATE_CHANGE_DETAIL_TYPE],
                # The alarm's ARN, not its name: an alarm of the same name in another
                # account or region is another alarm.
                resources=self.alarm_arns,
                detail={"state": {"value": [ALARM_STATE]}},
            ),
        )
        # Allowed to publish by this rule's ARN only, as every rule of the stack is.
        self.rule.add_target(
            TopicTarget(topic, dead_letter_queue=dead_letter_queue, max_event_age=event_age)
        )

    def grant_read_state(self, grantee: iam.IGrantable) -> None:
        """Let the function ask whether these alarms, and only these, are still in ALARM.

        DescribeAlarms takes alarm ARNs as resources. (A composite alarm is described only
        to a permission on "*", so a composite trigger alarm reads as not found: name its
        metric alarms instead.)
        """
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTriggerAlarmStates",
                actions=["cloudwatch:DescribeAlarms"],
                resources=self.alarm_arns,
            )
        )
