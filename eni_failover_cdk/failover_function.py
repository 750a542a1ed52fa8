"""The failover function, what it may touch, and how triggers reach it."""

from __future__ import annotations

from collections.abc import Sequence

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
    FailoverConfig,
    Pair,
)
from eni_failover.contract import FUNCTION_HANDLER
from eni_failover.discovery import PAIR_TAG
from eni_failover_cdk.lambda_package import (
    POWERTOOLS_LAYER_PARAMETER,
    package_code,
    powertools_layer,
)
from eni_failover_cdk.nag import acknowledge
from eni_failover_cdk.resource_policies import ResourceGrant, grant_on_resources

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
# What each lighter address kind (eni_failover.kinds) adds, only where a pair lists one: the
# move (its DryRun too, for the readiness check) and the read that verifies it. The reads
# support no resource-level permissions; the moves are scoped (address_grants,
# FailoverFunction._allow_moves).
ROUTE_ACTIONS = ("ec2:ReplaceRoute",)
ROUTE_READ_ACTIONS = ("ec2:DescribeRouteTables",)
ELASTIC_IP_ACTIONS = ("ec2:AssociateAddress",)
ELASTIC_IP_READ_ACTIONS = ("ec2:DescribeAddresses",)
PRIVATE_IP_ACTIONS = ("ec2:AssignPrivateIpAddresses",)


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
    """Attach and detach on the two instances and the interfaces of every pair that moves
    interfaces (a pair of routes or Elastic IPs only attaches nothing)."""
    moving = [p for p in pairs if p.interface_ids]
    instances = sorted({i for p in moving for i in (p.primary_instance_id, p.standby_instance_id)})
    interfaces = sorted({i for p in moving for i in p.interface_ids})
    return ResourceGrant(
        sid="MoveConfiguredInterfaces",
        actions=MOVE_ACTIONS,
        resources=(
            *(("instance", i) for i in instances),
            *(("network-interface", i) for i in interfaces),
        ),
    )


def address_read_actions(failover: FailoverConfig) -> tuple[str, ...]:
    """The describes that read the kinds of address the stack's pairs list (all of them
    when pairs are found by tags, which may list any). The prober reads them too, to see
    where a pair of addresses only is served."""
    tagged = failover.discover_tags
    return (
        *(ROUTE_READ_ACTIONS if tagged or any(p.route_table_ids for p in failover.pairs) else ()),
        *(
            ELASTIC_IP_READ_ACTIONS
            if tagged or any(p.eip_allocation_ids for p in failover.pairs)
            else ()
        ),
    )


def address_grants(pairs: Sequence[Pair]) -> list[ResourceGrant]:
    """Every move on resources the configuration names, packed together into the same
    managed policies: attach and detach (move_grant), ReplaceRoute on the listed route
    tables, AssociateAddress on the listed Elastic IPs.

    AssociateAddress authorizes the Elastic IP and the instance or interface the request
    names (Service Authorization Reference: elastic-ip required, instance and
    network-interface when given). The function names the target's primary interface,
    found at run time (AWS requires an interface, not an instance, once an instance has
    several), so no instance is ever authorized for it: naming the pairs' instances here
    would grant nothing and cost 160 characters a pair of the 10 managed policies. The
    interface side is FailoverFunction._allow_moves's, on network-interface/*.
    """
    tables = sorted({t for p in pairs for t in p.route_table_ids})
    allocations = sorted({a for p in pairs for a in p.eip_allocation_ids})
    grants = [
        move_grant(pairs),
        ResourceGrant(
            sid="ReplaceConfiguredRoutes",
            actions=ROUTE_ACTIONS,
            resources=tuple(("route-table", t) for t in tables),
        ),
        ResourceGrant(
            sid="AssociateConfiguredElasticIps",
            actions=ELASTIC_IP_ACTIONS,
            resources=tuple(("elastic-ip", a) for a in allocations),
        ),
    ]
    return [grant for grant in grants if grant.resources]


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
        private_ip_vpc_id: str | None = None,
    ) -> None:
        """``private_ip_vpc_id``: the VPC of the interfaces that may receive a pair's
        secondary private IPs (settings requires it where a pair lists privateIps)."""
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
        package = package_code(self, failover)
        self.function = lambda_.Function(
            self,
            "Function",
            description="ENI Failover: moves floating interfaces from a failed primary to its "
            "standby",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=FUNCTION_HANDLER,
            code=package.code,
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
            )
            | dict(package.environment),
            # Executions no other function in the account can take (settings sizes it).
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
        self._allow_moves(failover, private_ip_vpc_id=private_ip_vpc_id)
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
    ) -> dict[str, str]:
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

    def _allow_moves(self, failover: FailoverConfig, *, private_ip_vpc_id: str | None) -> None:
        """Move only the configured addresses, between the configured instances; read what
        the pairs' kinds need to verify a move. A stack of interface pairs gets attach and
        detach only, as it always did."""
        pairs = failover.pairs
        tagged = failover.discover_tags
        moves = grant_on_resources(
            # The construct keeps the name it had when it held interfaces only: renaming it
            # would replace every stack's policies for nothing.
            self,
            "InterfaceMovePolicy",
            role=self.role,
            grants=address_grants(pairs),
        )
        reads = [*DESCRIBE_ACTIONS, *address_read_actions(failover)]
        statements = [
            iam.PolicyStatement(
                sid="ReadInstanceAndInterfaceState", actions=reads, resources=["*"]
            ),
        ]
        if tagged:
            statements.extend(self._tagged_statements())
        describe = iam.Policy(self, "ReadStatePolicy", roles=[self.role], statements=statements)
        policies: list[iam.Policy | iam.ManagedPolicy] = [*moves, describe]
        primary_interfaces = self._allow_primary_interfaces(
            elastic_ips=tagged or any(p.eip_allocation_ids for p in pairs),
            private_ips=any(p.private_ips for p in pairs),
            vpc_id=private_ip_vpc_id,
        )
        if primary_interfaces is not None:
            policies.append(primary_interfaces)
        # The first trigger must not race the policies.
        for policy in policies:
            self.function.node.add_dependency(policy)
        acknowledge(
            describe,
            "AwsSolutions-IAM5[Resource::*]",
            reason="EC2 Describe actions support no resource-level permissions and need "
            "'*'; attach and detach are limited to the configured instance and "
            "interface ARNs (InterfaceMovePolicy).",
        )
        if tagged:
            for kind in ("instance", "network-interface", "route-table", "elastic-ip"):
                acknowledge(
                    describe,
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
                    f"<AWS::AccountId>:{kind}/*]",
                    reason="discovery=tags: attach, detach, replace routes and associate "
                    f"Elastic IPs only on resources that carry the {PAIR_TAG} tag (condition "
                    "aws:ResourceTag), as pairs tagged after the deploy cannot be named in it.",
                )

    def _tagged_statements(self) -> list[iam.PolicyStatement]:
        """Pairs found at run time cannot be named here: the tag is the boundary, so whoever
        may tag an instance, interface, route table or Elastic IP may have it moved (README,
        and docs/tag-discovery.md). Route tables and Elastic IPs support aws:ResourceTag."""
        tagged = {"Null": {f"aws:ResourceTag/{PAIR_TAG}": "false"}}
        return [
            iam.PolicyStatement(
                sid="MoveTaggedInterfaces",
                actions=list(MOVE_ACTIONS),
                resources=[
                    ec2_arn(self, "instance", "*"),
                    ec2_arn(self, "network-interface", "*"),
                ],
                conditions=tagged,
            ),
            iam.PolicyStatement(
                sid="ReplaceTaggedRoutes",
                actions=list(ROUTE_ACTIONS),
                resources=[ec2_arn(self, "route-table", "*")],
                conditions=tagged,
            ),
            iam.PolicyStatement(
                sid="AssociateTaggedElasticIps",
                actions=list(ELASTIC_IP_ACTIONS),
                resources=[ec2_arn(self, "elastic-ip", "*")],
                conditions=tagged,
            ),
        ]

    def _allow_primary_interfaces(
        self, *, elastic_ips: bool, private_ips: bool, vpc_id: str | None
    ) -> iam.Policy | None:
        """The interface side of AssociateAddress and AssignPrivateIpAddresses.

        Both name the standby's primary interface (or the primary's, to fail back), which
        the function finds at run time: its ID cannot be in the policy. The condition keys
        of the network-interface resource (Service Authorization Reference) that could
        narrow it are its tags, ec2:Subnet, ec2:AvailabilityZone and ec2:Vpc, none of which
        is in the configuration of a pair of Elastic IPs. So:
        - AssociateAddress: any interface of this account and Region. The Elastic IP is a
          required resource of the call and is named (the listed allocations, or tagged
          ones), so only those addresses can ever be associated.
        - AssignPrivateIpAddresses: any interface of the pairs' VPC (ec2:Vpc; vpcId is
          required for privateIps). The call has no other resource, so without the VPC it
          could reassign any private IP of the account.
        """
        statements = []
        interfaces = ec2_arn(self, "network-interface", "*")
        if elastic_ips:
            statements.append(
                iam.PolicyStatement(
                    sid="AssociateElasticIpsWithPrimaryInterfaces",
                    actions=list(ELASTIC_IP_ACTIONS),
                    resources=[interfaces],
                )
            )
        if private_ips:
            if vpc_id is None:
                raise ValueError("privateIps needs the VPC of the pairs' interfaces")
            statements.append(
                iam.PolicyStatement(
                    sid="AssignPrivateIpsToPrimaryInterfaces",
                    actions=list(PRIVATE_IP_ACTIONS),
                    resources=[interfaces],
                    conditions={"ArnEquals": {"ec2:Vpc": ec2_arn(self, "vpc", vpc_id)}},
                )
            )
        if not statements:
            return None
        policy = iam.Policy(
            self, "PrimaryInterfacePolicy", roles=[self.role], statements=statements
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
            "<AWS::AccountId>:network-interface/*]",
            reason="Elastic IPs and secondary private IPs move to the instances' primary "
            "interfaces, found at run time, so no interface ID can be named: AssociateAddress "
            "also needs the Elastic IP, named (InterfaceMovePolicy), and "
            "AssignPrivateIpAddresses is limited to the pairs' VPC (ec2:Vpc).",
        )
        return policy

    def _acknowledge_unscoped_tracing(self) -> None:
        default_policy = self.role.node.find_child("DefaultPolicy")
        acknowledge(
            default_policy,
            "AwsSolutions-IAM5[Resource::*]",
            reason="X-Ray PutTraceSegments and PutTelemetryRecords (active tracing) "
            "support no resource-level permissions and need '*'.",
        )
