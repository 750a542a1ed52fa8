"""Secure defaults shared by both topics: the customer-managed key and SSL-only access."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


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


def alarm_arn(scope: Construct, alarm_name: str) -> str:
    return Stack.of(scope).format_arn(
        service="cloudwatch",
        resource="alarm",
        resource_name=alarm_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def allow_alarms_to_publish(topic: sns.Topic, *, alarm_names: Sequence[str]) -> None:
    """Let exactly these CloudWatch alarms publish.

    The topic's own policy (SSL-only) replaces SNS's default one, so CloudWatch needs an
    explicit grant; the source conditions keep other accounts' alarms out.
    """
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowNamedAlarmsToPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "ArnLike": {"aws:SourceArn": [alarm_arn(topic, name) for name in alarm_names]},
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            },
        )
    )
