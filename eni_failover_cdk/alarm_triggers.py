"""Any existing alarm as a trigger: EventBridge rules route the state changes of the alarms
the pairs name (`triggerAlarms`) to the trigger topic.

CloudWatch emits every alarm's state change to EventBridge, so the user's alarms are routed
without touching their actions. Only changes to ALARM are forwarded; the function still asks
CloudWatch whether the alarm is in ALARM when it acts (cloudwatch:DescribeAlarms).

Each rule lists alarm ARNs, about 100 characters each, and EventBridge takes a pattern of
2,048: a rule holds about 15, so the alarms are split across as many rules as they need
(eni_failover_cdk.limits.chunked). DescribeAlarms names the same ARNs, packed into managed policies
with the pairs' other ARNs' limits in mind (eni_failover_cdk.resource_policies), never one statement
that CDK would move, uncounted, into an overflow policy too long for IAM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from eni_failover_cdk.limits import chunked
from eni_failover_cdk.resource_policies import ResourceGrant, grant_on_resources
from eni_failover_cdk.topics import TopicTarget, alarm_arn

ALARM_STATE_CHANGE_SOURCE = "aws.cloudwatch"
ALARM_STATE_CHANGE_DETAIL_TYPE = "CloudWatch Alarm State Change"
ALARM_STATE = "ALARM"
DESCRIBE_ALARMS = "cloudwatch:DescribeAlarms"


def alarm_read_grant(alarm_names: Sequence[str]) -> ResourceGrant:
    """DescribeAlarms on the trigger alarms: it takes alarm ARNs as resources."""
    return ResourceGrant(
        sid="ReadTriggerAlarmStates",
        actions=(DESCRIBE_ALARMS,),
        resources=tuple(("alarm", name) for name in alarm_names),
        service="cloudwatch",
    )


def alarm_pattern(alarm_arns: Sequence[str]) -> dict[str, Any]:
    """CloudWatch's state changes to ALARM of these alarms."""
    return {
        "source": [ALARM_STATE_CHANGE_SOURCE],
        "detail-type": [ALARM_STATE_CHANGE_DETAIL_TYPE],
        # The alarm's ARN, not its name: an alarm of the same name in another account or
        # region is another alarm.
        "resources": list(alarm_arns),
        "detail": {"state": {"value": [ALARM_STATE]}},
    }


class AlarmTriggers(Construct):
    """Rules for the stack's trigger alarms, as few as fit, publishing to the trigger topic."""

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
        self.alarm_names = tuple(alarm_names)
        self.alarm_arns = [alarm_arn(self, name) for name in alarm_names]
        parts = chunked(self, self.alarm_arns, pattern=alarm_pattern)
        # The first keeps the ID "Rule": a stack deployed with one rule keeps it.
        self.rules = tuple(
            self._rule("Rule" if number == 1 else f"Rule{number}", part, len(parts), number)
            for number, part in enumerate(parts, start=1)
        )
        for rule in self.rules:
            # Allowed to publish by this rule's ARN only, as every rule of the stack is.
            rule.add_target(
                TopicTarget(topic, dead_letter_queue=dead_letter_queue, max_event_age=event_age)
            )

    def _rule(self, rule_id: str, alarm_arns: list[str], parts: int, number: int) -> events.Rule:
        of = f" ({number} of {parts})" if parts > 1 else ""
        pattern = alarm_pattern(alarm_arns)
        return events.Rule(
            self,
            rule_id,
            description=f"ENI Failover: a trigger alarm of a pair changes to ALARM{of}",
            event_pattern=events.EventPattern(
                source=pattern["source"],
                detail_type=pattern["detail-type"],
                resources=pattern["resources"],
                detail=pattern["detail"],
            ),
        )

    def grant_read_state(self, role: iam.IRole) -> list[iam.ManagedPolicy]:
        """Let the function ask whether these alarms, and only these, are still in ALARM.

        DescribeAlarms takes alarm ARNs as resources; the function asks for metric alarms
        only (eni_failover.cloudwatch). A composite alarm is described only to a permission
        on "*", so a composite trigger alarm reads as not found: name its metric alarms.
        """
        return grant_on_resources(
            self, "ReadStatePolicy", role=role, grants=[alarm_read_grant(self.alarm_names)]
        )
