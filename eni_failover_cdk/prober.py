"""The prober: a function in the pairs' VPC that probes each probed pair's service and sends a
probe trigger to the trigger topic when it stops answering.

A schedule starts it every minute; each invocation probes until the next one takes over
(eni_failover.prober holds a lease in the state table), so probing has neither gaps nor
overlaps. It publishes a heartbeat metric, and the "detection degraded" alarm tells the
operators when that heartbeat stops. It never moves anything itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Aws, Duration, Fn, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from eni_failover.cloudwatch import METRIC_PROBER_ROUNDS
from eni_failover.config import (
    CONFIG_FILE_NAME,
    ENV_ACCOUNT_ID,
    ENV_CONFIG_FILE,
    ENV_FAILOVER_FUNCTION_ARN,
    ENV_METRICS_NAMESPACE,
    ENV_PROBER_VANTAGE,
    ENV_PROBER_VANTAGES,
    ENV_STATE_TABLE_NAME,
    ENV_TRIGGER_TOPIC_ARN,
    FailoverConfig,
    Pair,
)
from eni_failover.contract import PROBER_HANDLER
from eni_failover.prober import LEASE_ID, lease_id_for
from eni_failover.quorum import CLAIM_PREFIX, VIEW_PREFIX
from eni_failover_cdk.failover_function import address_read_actions
from eni_failover_cdk.lambda_package import package_code, powertools_layer
from eni_failover_cdk.nag import acknowledge
from eni_failover_cdk.prober_endpoints import HTTPS, ProberEndpoints
from eni_failover_cdk.schedules import invoke_on_schedule
from eni_failover_cdk.settings import KEY_PROBE_PORTS, PROBER_RESERVED_CONCURRENCY, ProberPlacement

MEMORY_MB = 256
# An invocation probes for about a minute, until the next one takes over; the rest is
# room for the handover and the last flush of metrics and memory.
TIMEOUT = Duration.seconds(90)
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS  # as the failover function's
SCHEDULE = "rate(1 minute)"
# A start that could not happen within a minute is superseded by the next one, and a failed
# invocation is not retried: the next scheduled one takes over when the lease expires.
START_EVENT_AGE = Duration.seconds(60)
ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "eni-failover-prober",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    # A minute-long loop makes one long, uninformative trace; the role may not write X-Ray.
    "POWERTOOLS_TRACE_DISABLED": "true",
}
# What the prober's code reads from EC2 (eni_failover.ec2.describe_interfaces and
# describe_instances): where each pair's interface is, each instance's own address and state.
# None supports resource-level permissions.
DESCRIBE_ACTIONS = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
)
# What Lambda does with the function's role to give it network interfaces in the subnets
# (the actions of AWSLambdaVPCAccessExecutionRole, without its logs:* on every log group).
# DescribeNetworkInterfaces and DescribeSubnets need "*"; the interfaces do not exist yet, so
# the others are scoped to the account and region.
VPC_DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
VPC_INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
# How cdk-nag names that account-and-region resource in its finding.
NAG_REGION_INTERFACES = "arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:*/*"

# The degraded alarm: no probe round in two whole minutes. The prober counts its rounds
# every 10 s, so one empty minute already means it stopped; the second keeps a datapoint
# CloudWatch received late from mailing the operators a false "degraded".
SILENCE_PERIOD = Duration.minutes(1)
SILENCE_PERIODS = 2


def probe_ports(pairs: Sequence[Pair]) -> dict[int, tuple[str, ...]]:
    """Each TCP port the probes use, with the pairs that probe it."""
    ports: dict[int, list[str]] = {}
    for pair in pairs:
        spec = pair.probe_spec
        if spec is not None:
            ports.setdefault(spec.port, []).append(pair.name)
    return {port: tuple(names) for port, names in sorted(ports.items())}


class Prober(Construct):
    """The prober function, its network, its permissions and its schedule.

    With a probe quorum (placement.quorum) the stack makes one per subnet, each a vantage
    running in that subnet only, with its own lease; the same code and the same policy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        failover: FailoverConfig,
        placement: ProberPlacement,
        metrics_namespace: str,
        trigger_topic: sns.ITopic,
        failover_function: lambda_.IFunction,
        state_table: dynamodb.ITableV2,
        key: kms.IKey,
        reserve_concurrency: bool = True,
        vantage: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.metrics_namespace = metrics_namespace
        self.vantage = vantage
        # Imported, not looked up: synth needs no credentials and no cdk.context.json.
        # Its zones are never read (the subnets are named), but the attribute is required.
        vpc = ec2.Vpc.from_vpc_attributes(
            self, "Vpc", vpc_id=placement.vpc_id, availability_zones=Fn.get_azs()
        )
        Annotations.of(vpc).acknowledge_warning(
            "@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones",
            "nothing selects the prober's subnets by zone: they are named by ID",
        )
        subnets = []
        # A vantage probes from its own subnet (its own zone) only.
        for subnet_id in (vantage,) if vantage else placement.subnet_ids:
            subnet = ec2.Subnet.from_subnet_id(self, f"Subnet-{subnet_id}", subnet_id)
            Annotations.of(subnet).acknowledge_warning(
                "@aws-cdk/aws-ec2:noSubnetRouteTableId",
                "the prober adds no routes; its subnets' route tables are never read",
            )
            subnets.append(subnet)
        self.security_group = self._security_group(
            vpc, failover.probed_pairs, tag_ports=failover.probing.tag_ports
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="ENI Failover prober: probes the pairs' services and sends probe "
            "triggers; moves nothing",
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        self.log_group.grant_write(self.role)
        package = package_code(self, failover)
        self.function = lambda_.Function(
            self,
            "Function",
            description="ENI Failover prober: probes each pair's service and triggers a "
            "failover when it stops answering",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=PROBER_HANDLER,
            code=package.code,
            layers=[powertools_layer(self, "PowertoolsLayer")],
            timeout=TIMEOUT,
            memory_size=MEMORY_MB,
            log_group=self.log_group,
            role=self.role,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=subnets),
            security_groups=[self.security_group],
            environment=self._environment(
                failover,
                metrics_namespace=metrics_namespace,
                trigger_topic=trigger_topic,
                failover_function=failover_function,
                state_table=state_table,
            )
            | dict(package.environment)
            | (
                {ENV_PROBER_VANTAGE: vantage, ENV_PROBER_VANTAGES: ",".join(placement.vantages)}
                if vantage
                else {}
            ),
            retry_attempts=0,
            max_event_age=START_EVENT_AGE,
            reserved_concurrent_executions=PROBER_RESERVED_CONCURRENCY
            if reserve_concurrency
            else None,
        )
        self.endpoints: ProberEndpoints | None = None
        if placement.endpoints:
            self.endpoints = ProberEndpoints(
                self, "Endpoints", vpc=vpc, subnets=subnets, clients=self.security_group
            )
            for variable, url in self.endpoints.urls.items():
                self.function.add_environment(variable, url)

        self._allow(
            trigger_topic=trigger_topic,
            failover_function=failover_function,
            state_table=state_table,
            key=key,
            reads=address_read_actions(failover),
            vantages=placement.vantages,
        )
        self.schedule = invoke_on_schedule(
            self,
            "Schedule",
            function=self.function,
            schedule=SCHEDULE,
            description="ENI Failover: starts the prober every minute; the running one hands "
            "over to it",
            request=None,
            max_event_age=START_EVENT_AGE,
            dead_letter_queue=None,
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            reason="Python 3.13 is deliberate: the prober runs the failover function's own "
            "code and Powertools layer, which are pinned and tested on that runtime.",
        )

    def _security_group(
        self, vpc: ec2.IVpc, pairs: Sequence[Pair], *, tag_ports: Sequence[int] = ()
    ) -> ec2.SecurityGroup:
        """Egress only to the probed ports, the ports of probePorts (`tag_ports`: for probes
        declared by tags, unknown at synth), and HTTPS for the AWS APIs.

        The probed addresses are the floating interfaces' and the instances' private IPs
        (or, through a NAT pair, a host beyond it), known only at run time: the rules allow
        any IPv4 address, on the probes' ports only. DNS to the VPC resolver is not subject
        to security groups, so names resolve without a rule.
        """
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="ENI Failover prober: egress to the probed ports and HTTPS to AWS APIs",
            allow_all_outbound=False,
        )
        ports = probe_ports(pairs)
        for port in sorted({*ports, *tag_ports, HTTPS}):
            purposes = []
            if port in ports:
                purposes.append(f"probes of pair {', '.join(ports[port])}")
            if port in tag_ports:
                purposes.append(f"probes of tagged pairs ({KEY_PROBE_PORTS})")
            if port == HTTPS:
                purposes.append("AWS APIs (Lambda, SNS, CloudWatch, EC2, DynamoDB)")
            group.add_egress_rule(
                ec2.Peer.any_ipv4(),
                ec2.Port.tcp(port),
                f"TCP {port}: {' and '.join(purposes)}; any IPv4 as addresses are known only "
                "at run time",
            )
        return group

    @staticmethod
    def _environment(
        failover: FailoverConfig,
        *,
        metrics_namespace: str,
        trigger_topic: sns.ITopic,
        failover_function: lambda_.IFunction,
        state_table: dynamodb.ITableV2,
    ) -> dict[str, str]:
        """What eni_failover.config.ProberSettings reads (AWS_REGION comes from Lambda)."""
        return {
            ENV_CONFIG_FILE: CONFIG_FILE_NAME,
            ENV_TRIGGER_TOPIC_ARN: trigger_topic.topic_arn,
            ENV_FAILOVER_FUNCTION_ARN: failover_function.function_arn,
            ENV_STATE_TABLE_NAME: state_table.table_name,
            ENV_METRICS_NAMESPACE: metrics_namespace,
            ENV_ACCOUNT_ID: Aws.ACCOUNT_ID,
            **ENVIRONMENT,
        }

    def _allow(
        self,
        *,
        trigger_topic: sns.ITopic,
        failover_function: lambda_.IFunction,
        state_table: dynamodb.ITableV2,
        key: kms.IKey,
        reads: Sequence[str],
        vantages: Sequence[str] = (),
    ) -> None:
        """Send triggers, publish its metrics, hold its lease, read EC2; nothing else."""
        region_interfaces = Stack.of(self).format_arn(
            service="ec2", resource="*", resource_name="*"
        )
        for statement in (
            iam.PolicyStatement(
                sid="PublishProbeTriggers",
                actions=["sns:Publish"],
                resources=[trigger_topic.topic_arn],
            ),
            # A trigger goes to the failover function directly first (one hop fewer than
            # SNS), to this function only, unqualified: no version or alias is published.
            iam.PolicyStatement(
                sid="InvokeTheFailoverFunctionWithProbeTriggers",
                actions=["lambda:InvokeFunction"],
                resources=[failover_function.function_arn],
            ),
            # What SNS needs from a publisher to an encrypted topic.
            iam.PolicyStatement(
                sid="EncryptProbeTriggers",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
            ),
            iam.PolicyStatement(
                sid="PutProbeMetricsInTheStackNamespace",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": self.metrics_namespace}},
            ),
            # The prober's lease item and nothing else of the state table: not the pairs'
            # leases, not the idempotency records.
            self._state_items(state_table, vantages),
            iam.PolicyStatement(
                sid="ReadInterfacesInstancesAndSubnets",
                # With the kinds' reads: a probed pair of addresses only is probed where its
                # addresses are, and tagged pairs are found by their route tables and
                # Elastic IPs too.
                actions=sorted({*DESCRIBE_ACTIONS, *VPC_DESCRIBE_ACTIONS, *reads}),
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="ManageTheFunctionNetworkInterfaces",
                actions=list(VPC_INTERFACE_ACTIONS),
                resources=[region_interfaces],
            ),
        ):
            self.role.add_to_policy(statement)
        default_policy = self.role.node.find_child("DefaultPolicy")
        acknowledge(
            default_policy,
            "AwsSolutions-IAM5[Resource::*]",
            reason="cloudwatch:PutMetricData and the EC2 Describe actions support no "
            "resource-level permissions; PutMetricData is limited to the stack's namespace "
            "by the cloudwatch:namespace condition.",
        )
        acknowledge(
            default_policy,
            f"AwsSolutions-IAM5[Resource::{NAG_REGION_INTERFACES}]",
            reason="Lambda creates, assigns and deletes the prober's VPC network interfaces "
            "with this role; they do not exist before it does, so the actions are limited to "
            "this account and region, as AWS documents for DeleteNetworkInterface.",
        )

    @staticmethod
    def _state_items(
        state_table: dynamodb.ITableV2, vantages: Sequence[str]
    ) -> iam.PolicyStatement:
        """The prober's own items of the state table. With a quorum: every vantage's lease and
        view (a vantage reads the others'), and the claims of the episodes (prober#claim#PAIR,
        a tagged pair's name known only at run time), by the same policy for every vantage."""
        if not vantages:
            return iam.PolicyStatement(
                sid="HoldTheProberLease",
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[state_table.table_arn],
                conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [LEASE_ID]}},
            )
        items = sorted(
            {lease_id_for(v, tuple(vantages)) for v in vantages}
            | {VIEW_PREFIX + v for v in vantages}
        )
        return iam.PolicyStatement(
            sid="HoldTheProberLeasesViewsAndClaims",
            actions=["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"],
            resources=[state_table.table_arn],
            conditions={
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [*items, f"{CLAIM_PREFIX}*"]}
            },
        )

    def alarm_on_silence(self, *, alarm_name: str, topic: sns.ITopic) -> cloudwatch.Alarm:
        """'Detection degraded' when the heartbeat stops; notifies, never moves anything."""
        minutes = SILENCE_PERIODS * int(SILENCE_PERIOD.to_minutes())
        alarm = cloudwatch.Alarm(
            self,
            "DetectionDegradedAlarm",
            alarm_name=alarm_name,
            alarm_description=(
                f"Detection degraded: the ENI Failover prober published no probe round "
                f"({self.metrics_namespace}/{METRIC_PROBER_ROUNDS}) for {minutes} minutes; "
                "it crashed, is throttled or cannot reach AWS. A service that stops answering "
                "is not noticed meanwhile; EC2 status checks, state-change events and the "
                "sweep still are. Nothing moves on this alarm alone: look at the prober's logs."
            ),
            metric=cloudwatch.Metric(
                namespace=self.metrics_namespace,
                metric_name=METRIC_PROBER_ROUNDS,
                statistic=cloudwatch.Stats.SUM,
                period=SILENCE_PERIOD,
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=SILENCE_PERIODS,
            # No data is the failure this alarm exists for.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        action = cloudwatch_actions.SnsAction(topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        return alarm
