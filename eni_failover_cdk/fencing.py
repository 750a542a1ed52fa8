"""Fencing the failed primary: the empty quarantine group, and the calls the function may make.

Stopping names each fencing pair's primary only: the function never fences a standby
(decide.fence_decision), so it may not stop one either. Isolating changes the groups of
the primary's own interfaces, whose IDs are not known at synth: it is allowed on the
interfaces and security groups of the pairs' VPC only.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from eni_failover.config import FenceMode, Pair
from eni_failover_cdk.failover_function import ec2_arn
from eni_failover_cdk.nag import acknowledge
from eni_failover_cdk.resource_policies import ResourceGrant, grant_on_resources

STOP_ACTIONS = ("ec2:StopInstances",)
# Isolate replaces the security groups of each interface still attached to the primary, one
# by one, and failback gives each its own back. Per interface, as the EC2 reference advises:
# ModifyInstanceAttribute Groups fails on an instance with more than one interface.
ISOLATE_ACTIONS = ("ec2:ModifyNetworkInterfaceAttribute",)


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
        self.vpc_id = vpc_id
        self.quarantine_group: ec2.SecurityGroup | None = None
        if any(p.fence is FenceMode.ISOLATE for p in pairs):
            if vpc_id is None:
                raise ValueError("fence=isolate needs the VPC of the quarantine group")
            self.quarantine_group = self._quarantine(vpc_id)
        self.policies: list[iam.Policy | iam.ManagedPolicy] = []

    @property
    def quarantine_group_id(self) -> str | None:
        """The quarantine group's ID (a reference until deploy), for the function's
        environment; None when no pair isolates."""
        group = self.quarantine_group
        return None if group is None else group.security_group_id

    def allow(self, role: iam.IRole) -> list[iam.Policy | iam.ManagedPolicy]:
        """Let the function fence: stop only the stopping pairs' primaries, and isolate only
        interfaces in the pairs' VPC."""
        grants = fence_grants(self.pairs)
        isolating = any(p.fence is FenceMode.ISOLATE for p in self.pairs)
        policies: list[iam.Policy | iam.ManagedPolicy] = [
            *grant_on_resources(self, "FencePolicy", role=role, grants=grants)
        ]
        if isolating and self.vpc_id is not None:
            # The interfaces are the primary's own (not the floating ones) and the groups
            # are whatever they had at the fence: both known only then, so by the VPC.
            interfaces, groups = (
                ec2_arn(self, "network-interface", "*"),
                ec2_arn(self, "security-group", "*"),
            )
            isolate = iam.Policy(
                self,
                "IsolateGroupsPolicy",
                roles=[role],
                statements=[
                    iam.PolicyStatement(
                        sid="QuarantinePrimaryInterfaces",
                        actions=list(ISOLATE_ACTIONS),
                        resources=[interfaces, groups],
                        conditions={"ArnEquals": {"ec2:Vpc": ec2_arn(self, "vpc", self.vpc_id)}},
                    )
                ],
            )
            for wildcard in ("network-interface/*", "security-group/*"):
                acknowledge(
                    isolate,
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
                    f"<AWS::AccountId>:{wildcard}]",
                    reason="Isolating a failed primary changes the groups of its own "
                    "interfaces (not configured; found at the fence) and failback gives back "
                    "the groups they had then; limited to the pairs' VPC (ec2:Vpc).",
                )
            policies.append(isolate)
        self.policies = policies
        return policies

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


def fence_grants(pairs: Sequence[Pair]) -> list[ResourceGrant]:
    """Stop the stopping pairs' primaries. A manual --fence uses the pair's mode too, so a
    pair with fence=none gets nothing."""
    stopping = [p for p in pairs if p.fence is FenceMode.STOP]
    grants = []
    if stopping:
        grants.append(ResourceGrant("StopFailedPrimary", STOP_ACTIONS, _primaries(stopping)))
    # Isolation names no instance (it acts on interfaces): see Fencing.allow.
    return grants


def _primaries(pairs: Sequence[Pair]) -> tuple[tuple[str, str], ...]:
    return tuple(("instance", i) for i in sorted({p.primary_instance_id for p in pairs}))
