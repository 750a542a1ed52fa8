"""The failover function, what it may touch, and how triggers reach it."""

from __future__ import annotations

from collections.abc import Mapping

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
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from eni_failover.config import (
    ENV_ACCOUNT_ID,
    ENV_CONFIG,
    ENV_DEAD_LETTER_QUEUE_URL,
    ENV_HISTORY_RETENTION_DAYS,
    ENV_METRICS_NAMESPACE,
    ENV_NOTIFICATION_TOPIC_ARN,
    ENV_STATE_TABLE_NAME,
    FailoverConfig,
)
from infra import LAMBDA_SOURCE
from infra.nag import acknowledge

HANDLER = "eni_failover.handler.lambda_handler"
# The Powertools release the tests run with: requirements.txt pins the same version, and
# tests/infra/test_stack.py fails when the two disagree.
POWERTOOLS_VERSION = "3.37.0"
# The public parameter that holds that release's layer ARN in the deploy region, resolved by
# CloudFormation at deploy time (synth needs no credentials). Not ".../latest": that one
# moves with every Powertools release, so production would drift from what was tested.
POWERTOOLS_LAYER_PARAMETER = f"/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}"
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
        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "PowertoolsLayer",
            ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_LAYER_PARAMETER),
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="ENI Failover: moves floating interfaces from a failed primary to its "
            "standby",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(LAMBDA_SOURCE), exclude=["**/__pycache__", "*.pyc"]),
            layers=[powertools],
            timeout=Duration.seconds(timeout_seconds),
            memory_size=MEMORY_MB,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
            environment=self._environment(
                failover,
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
            notification_topic=notification_topic, dead_letter_queue=dead_letter_queue, key=key
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
        failover: FailoverConfig,
        *,
        notification_topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue,
        state_table: dynamodb.ITableV2,
        metrics_namespace: str,
        history_retention_days: int,
    ) -> Mapping[str, str]:
        return {
            ENV_CONFIG: failover.model_dump_json(),
            ENV_NOTIFICATION_TOPIC_ARN: notification_topic.topic_arn,
            ENV_DEAD_LETTER_QUEUE_URL: dead_letter_queue.queue_url,
            ENV_STATE_TABLE_NAME: state_table.table_name,
            ENV_ACCOUNT_ID: Aws.ACCOUNT_ID,
            ENV_HISTORY_RETENTION_DAYS: str(history_retention_days),
            ENV_METRICS_NAMESPACE: metrics_namespace,
            **POWERTOOLS_ENVIRONMENT,
        }

    def _allow_messages(
        self, *, notification_topic: sns.ITopic, dead_letter_queue: sqs.IQueue, key: kms.IKey
    ) -> None:
        """Publish outcomes; dead-letter failed invocations and records it cannot parse."""
        for sid, actions, resource in (
            ("PublishOutcomes", ["sns:Publish"], notification_topic.topic_arn),
            ("SendDeadLetters", ["sqs:SendMessage"], dead_letter_queue.queue_arn),
            # What SNS and SQS need from a publisher to an encrypted topic or queue.
            ("EncryptMessages", ["kms:GenerateDataKey", "kms:Decrypt"], key.key_arn),
        ):
            self.role.add_to_policy(
                iam.PolicyStatement(sid=sid, actions=actions, resources=[resource])
            )

    def _allow_interface_moves(self, failover: FailoverConfig) -> None:
        """Attach and detach only the configured interfaces on the configured instances."""
        instance_ids = sorted(
            {p.primary_instance_id for p in failover.pairs}
            | {p.standby_instance_id for p in failover.pairs}
        )
        interface_ids = sorted({i for p in failover.pairs for i in p.interface_ids})
        policy = iam.Policy(
            self,
            "InterfaceMovePolicy",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="MoveConfiguredInterfaces",
                    actions=list(MOVE_ACTIONS),
                    resources=[
                        *(ec2_arn(self, "instance", i) for i in instance_ids),
                        *(ec2_arn(self, "network-interface", i) for i in interface_ids),
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadInstanceAndInterfaceState",
                    actions=list(DESCRIBE_ACTIONS),
                    resources=["*"],
                ),
            ],
        )
        # The first trigger must not race the policy.
        self.function.node.add_dependency(policy)
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            reason="EC2 Describe actions support no resource-level permissions and need "
            "'*'; attach and detach are limited to the configured instance and "
            "interface ARNs.",
        )

    def _acknowledge_unscoped_tracing(self) -> None:
        default_policy = self.role.node.find_child("DefaultPolicy")
        acknowledge(
            default_policy,
            "AwsSolutions-IAM5[Resource::*]",
            reason="X-Ray PutTraceSegments and PutTelemetryRecords (active tracing) "
            "support no resource-level permissions and need '*'.",
        )
