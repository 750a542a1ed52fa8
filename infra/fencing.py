"""Fencing the failed primary: the empty quarantine group, and the calls the function may make.

The permissions name each fencing pair's instances only (primary and standby, as for the
interface moves); the function's code only ever fences the primary (decide.fence_decision).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from eni_failover.config import FenceMode, Pair
from infra.failover_function import ec2_arn
from infra.nag import acknowledge

STOP_ACTIONS = ("ec2:StopInstances",)
# Isolate replaces the security groups of the primary's primary interface, and failback
# gives the old ones back.
ISOLATE_ACTIONS = ("ec2:ModifyInstanceAttribute",)


class Fencing(Construct):
    """A quarantine group (when a pair isolates) and a policy scoped to the fencing pairs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pairs: Sequence[Pair],
        vpc_id: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.pairs = tuple(pairs)
        self.quarantine_group: ec2.SecurityGroup | None = None
        if any(p.fence is FenceMode.ISOLATE for p in pairs):
            if vpc_id is None:
                raise ValueError("fence=isolate needs the VPC of the quarantine group")
            self.quarantine_group = self._quarantine(vpc_id)
        self.policy: iam.Policy | None = None

    def with_quarantine_group(self, pairs: Sequence[Pair]) -> tuple[Pair, ...]:
        """The pairs, those that isolate naming the quarantine group (a reference)."""
        group = self.quarantine_group
        return tuple(
            p.model_copy(update={"quarantine_group_id": group.security_group_id})
            if group is not None and p.fence is FenceMode.ISOLATE
            else p
            for p in pairs
        )

    def allow(self, role: iam.IRole) -> iam.Policy | None:
        """Let the function fence: stop or isolate only the fencing pairs' instances."""
        pairs = self.pairs
        stopping = [p for p in pairs if p.fence is FenceMode.STOP]
        isolating = [p for p in pairs if p.fence is FenceMode.ISOLATE]
        # A manual --fence uses the pair's mode too, so a pair with fence=none gets nothing.
        statements = []
        if stopping:
            statements.append(
                iam.PolicyStatement(
                    sid="StopFailedPrimary",
                    actions=list(STOP_ACTIONS),
                    resources=self._instance_arns(stopping),
                )
            )
        if isolating:
            statements.append(
                iam.PolicyStatement(
                    sid="IsolateFailedPrimary",
                    actions=list(ISOLATE_ACTIONS),
                    resources=[
                        *self._instance_arns(isolating),
                        # The groups: the quarantine group, and the primary's own on failback
                        # (whatever they are at the time of the fence).
                        ec2_arn(self, "security-group", "*"),
                    ],
                )
            )
        if statements:
            self.policy = iam.Policy(self, "FencePolicy", roles=[role], statements=statements)
            if isolating:
                acknowledge(
                    self.policy,
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
                    "<AWS::AccountId>:security-group/*]",
                    reason="Restoring an isolated primary gives back the security groups it "
                    "had when it was fenced, known only then; the instances are named.",
                )
        return self.policy

    def _instance_arns(self, pairs: Sequence[Pair]) -> list[str]:
        ids = sorted({i for p in pairs for i in (p.primary_instance_id, p.standby_instance_id)})
        return [ec2_arn(self, "instance", i) for i in ids]

    def _quarantine(self, vpc_id: str) -> ec2.SecurityGroup:
        # Imported, not looked up: synth needs no credentials.
        vpc = ec2.Vpc.from_vpc_attributes(
            self, "Vpc", vpc_id=vpc_id, availability_zones=Fn.get_azs()
        )
        Annotations.of(vpc).acknowledge_warning(
            "@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones",
            "the quarantine group selects nothing by zone",
        )
        # No ingress rule, and allow_all_outbound=False leaves CDK's one egress rule that
        # matches no traffic: a primary in this group alone can neither serve nor call out.
        return ec2.SecurityGroup(
            self,
            "QuarantineGroup",
            vpc=vpc,
            description="ENI Failover quarantine: no traffic in or out, for a fenced primary",
            allow_all_outbound=False,
        )
