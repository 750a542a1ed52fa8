"""Secure defaults shared by both topics: the customer-managed key and SSL-only access, and
who may publish to them: named alarms of this account, named rules of this stack."""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import ArnFormat, Aws, Duration, Names, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces import aws_events as events_interfaces
from constructs import Construct, IConstruct

from eni_failover_cdk.encryption import PUBLISH_KEY_ACTIONS


def encrypted_topic(
    scope: Construct, construct_id: str, *, key: kms.IKey, display_name: str
) -> sns.Topic:
    return sns.Topic(
        scope,
        construct_id,
        display_name=display_name,
        master_key=key,
        enforce_ssl=True,
    )


def alarm_arn(scope: IConstruct, alarm_name: str) -> str:
    return Stack.of(scope).format_arn(
        service="cloudwatch",
        resource="alarm",
        resource_name=alarm_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def allow_alarms_to_publish(topic: sns.ITopic, *, alarm_names: Sequence[str]) -> None:
    """Let exactly these CloudWatch alarms publish, and encrypt with the topic's key.

    The topic's own policy (SSL-only) replaces SNS's default one, so CloudWatch needs an
    explicit grant; the source conditions keep other accounts' alarms out. The same
    conditions go on the key: CloudWatch encrypts on the alarms' behalf.
    """
    conditions = {
        "ArnLike": {"aws:SourceArn": [alarm_arn(topic, name) for name in alarm_names]},
        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
    }
    principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowNamedAlarmsToPublish",
            principals=[principal],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions=conditions,
        )
    )
    if topic.master_key is not None:
        topic.master_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[principal],
                actions=list(PUBLISH_KEY_ACTIONS),
                resources=["*"],  # in a key policy, "*" means this key
                conditions=conditions,
            )
        )


@jsii.implements(events.IRuleTarget)
class TopicTarget:
    """A rule target that publishes to ``topic``, allowed for the rule it is added to only.

    aws_events_targets.SnsTopic lets events.amazonaws.com publish with no condition, so a
    rule in any account could put events on the topic. This grants each rule by its ARN
    (aws:SourceArn), and lets it dead-letter into ``dead_letter_queue`` as SnsTopic would.
    """

    def __init__(
        self, topic: sns.ITopic, *, dead_letter_queue: sqs.IQueue, max_event_age: Duration
    ) -> None:
        self._topic = topic
        self._dead_letter_queue = dead_letter_queue
        self._max_event_age = max_event_age

    def bind(
        self, rule: events_interfaces.IRuleRef, id: str | None = None
    ) -> events.RuleTargetConfig:
        rule_arn = events.CfnRule.arn_for_rule(rule)
        source = {"ArnEquals": {"aws:SourceArn": rule_arn}}
        events_service = iam.ServicePrincipal("events.amazonaws.com")
        rule_id = Names.node_unique_id(rule.node)
        self._topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"AllowRule{rule_id}ToPublish",
                principals=[events_service],
                actions=["sns:Publish"],
                resources=[self._topic.topic_arn],
                conditions=source,
            )
        )
        # The statement aws_events_targets would add for a dead-letter queue, unchanged.
        self._dead_letter_queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"AllowEventRule{rule_id}",
                principals=[events_service],
                actions=["sqs:SendMessage"],
                resources=[self._dead_letter_queue.queue_arn],
                conditions=source,
            )
        )
        return events.RuleTargetConfig(
            arn=self._topic.topic_arn,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                arn=self._dead_letter_queue.queue_arn
            ),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_event_age_in_seconds=int(self._max_event_age.to_seconds())
            ),
            target_resource=self._topic,
        )
