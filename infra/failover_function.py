"""The failover function, what it may touch, and how triggers reach it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from eni_failover.config import (
    CONFIG_FILE_NAME,
    ENV_ACCOUNT_ID,
    ENV_CONFIG_FILE,
    ENV_DEAD_LETTER_QUEUE_URL,
    ENV_HISTORY_RETENTION_DAYS,
    ENV_METRICS_NAMESPACE,
    ENV_NOTIFICATION_TOPIC_ARN,
    ENV_QUARANTINE_GROUP_ID,
    ENV_STATE_TABLE_NAME,
    ENV_TRIGGER_TOPIC_ARN,
    FUNCTION_HANDLER,
    FailoverConfig,
    Pair,
)
from eni_failover.discovery import PAIR_TAG
from infra.lambda_package import POWERTOOLS_LAYER_PARAMETER, package_code, powertools_layer
from infra.nag import acknowledge
from infra.resource_policies import ResourceGrant, grant_on_resources

# The metrics namespace is the stack's own (DeploymentSettings.metrics_namespace), shared
# with the prober so that the dashboard finds every metric of the stack in one place.
POWERTOOLS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "eni-failover",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
# What the function does on the state table: its pair records, Powertools' idempotency
# records (which it deletes when a handler fails), the prober's memory and the history.
TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
MEMORY_MB = 256
# A function error is retried twice by Lambda's async invocation, then dead-lettered.
RETRY_ATTEMPTS = 2
# What the function reads to decide; none of them supports resource-level permissions.
DESCRIBE_ACTIONS = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
)
MOVE_ACTIONS = ("ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface")


@jsii.implements(lambda_.IDestination)
class QueueOnFailure:
    """Failed invocations go to a queue; the permission is granted separately.

    aws_lambda_destinations.SqsDestination also grants the role every KMS action on the
    queue's key (kms:Encrypt, kms:ReEncrypt*, ...); sending needs two.
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self,
        scope: Construct,
        fn: lambda_.IFunction,
        *,
        type: lambda_.DestinationType,
    ) -> lambda_.DestinationConfig:
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)


def move_grant(pairs: Sequence[Pair]) -> ResourceGrant:
    """Attach and detach on every pair's two instances and its interfaces."""
    instances = sorted({i for p in pairs for i in (p.primary_instance_id, p.standby_instance_id)})
    interfaces = sorted({i for p in pairs for i in p.interface_ids})
    return ResourceGrant(
        sid="MoveConfiguredInterfaces",
        actions=MOVE_ACTIONS,
        resources=(
            *(("instance", i) for i in instances),
            *(("network-interface", i) for i in interfaces),
        ),
    )


def ec2_arn(scope: Construct, resource: str, resource_id: str) -> str:
    return Stack.of(scope).format_arn(service="ec2", resource=resource, resource_name=resource_id)


class FailoverFunction(Construct):
    """Subscribed to the trigger topic only; publishes outcomes to the notification topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        failover: FailoverConfig,
        quarantine_group_id: str | None,
        timeout_seconds: int,
        max_event_age_seconds: int,
        reserved_concurrency: int | None,
        trigger_topic: sns.ITopic,
        notification_topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue,
        state_table: dynamodb.ITableV2,
        key: kms.IKey,
        metrics_namespace: str,
        history_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        # Our own role: the managed basic-execution policy would allow writing any log group.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="ENI Failover: moves the configured interfaces between their instances",
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.THREE_MONTHS)
        self.log_group.grant_write(self.role)
        powertools = powertools_layer(self, "PowertoolsLayer")
        self.function = lambda_.Function(
            self,
            "Function",
            description="ENI Failover: moves floating interfaces from a failed primary to its "
            "standby",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=FUNCTION_HANDLER,
            code=package_code(failover),
            layers=[powertools],
            timeout=Duration.seconds(timeout_seconds),
            memory_size=MEMORY_MB,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
            environment=self._environment(
                quarantine_group_id=quarantine_group_id,
                trigger_topic=trigger_topic,
                notification_topic=notification_topic,
                dead_letter_queue=dead_letter_queue,
                state_table=state_table,
                metrics_namespace=metrics_namespace,
                history_retention_days=history_retention_days,
            ),
            # Executions no other function in the account can take (infra.settings sizes it).
            reserved_concurrent_executions=reserved_concurrency,
            retry_attempts=RETRY_ATTEMPTS,
            max_event_age=Duration.seconds(max_event_age_seconds),
            on_failure=QueueOnFailure(dead_letter_queue),
        )
        trigger_topic.add_subscription(
            subscriptions.LambdaSubscription(self.function, dead_letter_queue=dead_letter_queue)
        )

        self._allow_messages(
            trigger_topic=trigger_topic,
            notification_topic=notification_topic,
            dead_letter_queue=dead_letter_queue,
            key=key,
        )
        # Not grant_read_write_data: that also grants queries and scans, and on the indexes.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="KeepState", actions=list(TABLE_ACTIONS), resources=[state_table.table_arn]
            )
        )
        self._allow_interface_moves(failover)
        self._acknowledge_unscoped_tracing()
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            reason="Python 3.13 is deliberate: the runtime, the Powertools layer parameter "
            f"({POWERTOOLS_LAYER_PARAMETER}) and the tested dependencies move together.",
        )

    @staticmethod
    def _environment(
        *,
        quarantine_group_id: str | None,
        trigger_topic: sns.ITopic,
        notification_topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue,
        state_table: dynamodb.ITableV2,
        metrics_namespace: str,
        history_retention_days: int,
    ) -> Mapping[str, str]:
        environment = {
            ENV_CONFIG_FILE: CONFIG_FILE_NAME,
            ENV_NOTIFICATION_TOPIC_ARN: notification_topic.topic_arn,
            ENV_TRIGGER_TOPIC_ARN: trigger_topic.topic_arn,
            ENV_DEAD_LETTER_QUEUE_URL: dead_letter_queue.queue_url,
            ENV_STATE_TABLE_NAME: state_table.table_name,
            ENV_ACCOUNT_ID: Aws.ACCOUNT_ID,
            ENV_HISTORY_RETENTION_DAYS: str(history_retention_days),
            ENV_METRICS_NAMESPACE: metrics_namespace,
            **POWERTOOLS_ENVIRONMENT,
        }
        if quarantine_group_id is not None:
            environment[ENV_QUARANTINE_GROUP_ID] = quarantine_group_id
        return environment

    def _allow_messages(
        self,
        *,
        trigger_topic: sns.ITopic,
        notification_topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue,
        key: kms.IKey,
    ) -> None:
        """Publish outcomes; hand the sweep's missed failures to the trigger topic (one
        invocation each, in parallel); dead-letter what fails and what cannot be parsed."""
        for sid, actions, resource in (
            ("PublishOutcomes", ["sns:Publish"], notification_topic.topic_arn),
            ("HandOffMissedFailures", ["sns:Publish"], trigger_topic.topic_arn),
            ("SendDeadLetters", ["sqs:SendMessage"], dead_letter_queue.queue_arn),
            # What SNS and SQS need from a publisher to an encrypted topic or queue.
            ("EncryptMessages", ["kms:GenerateDataKey", "kms:Decrypt"], key.key_arn),
        ):
            self.role.add_to_policy(
                iam.PolicyStatement(sid=sid, actions=actions, resources=[resource])
            )

    def _allow_interface_moves(self, failover: FailoverConfig) -> None:
        """Attach and detach only the configured interfaces on the configured instances."""
        moves = grant_on_resources(
            self, "InterfaceMovePolicy", role=self.role, grants=[move_grant(failover.pairs)]
        )
        statements = [
            iam.PolicyStatement(
                sid="ReadInstanceAndInterfaceState",
                actions=list(DESCRIBE_ACTIONS),
                resources=["*"],
            ),
        ]
        if failover.discover_tags:
            # Pairs found at run time cannot be named here: the tag is the boundary, so
            # whoever may tag an instance or interface may have it moved (README).
            statements.append(
                iam.PolicyStatement(
                    sid="MoveTaggedInterfaces",
                    actions=list(MOVE_ACTIONS),
                    resources=[
                        ec2_arn(self, "instance", "*"),
                        ec2_arn(self, "network-interface", "*"),
                    ],
                    conditions={"Null": {f"aws:ResourceTag/{PAIR_TAG}": "false"}},
                )
            )
        describe = iam.Policy(self, "ReadStatePolicy", roles=[self.role], statements=statements)
        # The first trigger must not race the policies.
        for policy in (*moves, describe):
            self.function.node.add_dependency(policy)
        acknowledge(
            describe,
            "AwsSolutions-IAM5[Resource::*]",
            reason="EC2 Describe actions support no resource-level permissions and need "
            "'*'; attach and detach are limited to the configured instance and "
            "interface ARNs (InterfaceMovePolicy).",
        )
        if failover.discover_tags:
            for kind in ("instance", "network-interface"):
                acknowledge(
                    describe,
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
                    f"<AWS::AccountId>:{kind}/*]",
                    reason="discovery=tags: attach and detach only resources that carry the "
                    f"{PAIR_TAG} tag (condition aws:ResourceTag), as pairs tagged after the "
                    "deploy cannot be named in it.",
                )

    def _acknowledge_unscoped_tracing(self) -> None:
        default_policy = self.role.node.find_child("DefaultPolicy")
        acknowledge(
            default_policy,
            "AwsSolutions-IAM5[Resource::*]",
            reason="X-Ray PutTraceSegments and PutTelemetryRecords (active tracing) "
            "support no resource-level permissions and need '*'.",
        )
