"""Permissions that name every pair's instances, interfaces and trigger alarms, packed to fit
IAM's limits.

A role's inline policies share 10,240 characters, and one ARN of an instance or an interface
is about 70; 200 pairs name about 600. So these statements go into customer-managed
policies of at most 6,144 characters each (IAM's limit, whitespace not counted), as many as
the ARNs need; a role takes 10 of them under IAM's default quota, which the settings check
(eni_failover_cdk.settings) before anything is synthesized.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

# IAM's size limit of a managed policy document, and the default number a role can have.
MANAGED_POLICY_CHARACTERS = 6144
MANAGED_POLICIES_PER_ROLE = 10
# The ARNs are tokens until deploy; counted at their longest: partition, Region and account
# as long as AWS makes them ("aws-iso-b", "ap-southeast-2"-like names, 12 digits), with room.
_LONGEST_PARTITION, _LONGEST_REGION, _ACCOUNT = 10, 16, 12
# A reference's longest resolved length, as eni_failover_cdk.limits measures it.
_LONGEST_TOKEN = 256
# A document's own characters beside its ARNs (version, statement, sid, effect, actions).
_DOCUMENT_OVERHEAD = 400


# How a service's ARNs name a resource: "instance/i-..." (EC2), "alarm:NAME" (CloudWatch).
_ARN_FORMATS = {"cloudwatch": ArnFormat.COLON_RESOURCE_NAME}


@dataclass(frozen=True)
class ResourceGrant:
    """Actions on the resources of ``service`` named by (resource type, ID)."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[tuple[str, str], ...]  # ("instance", "i-..."), ("network-interface", ...)
    service: str = "ec2"


def arn_length(resource: str, resource_id: str, *, service: str = "ec2") -> int:
    """An ARN's resolved length at its longest, with its quotes and comma in a document."""
    fixed = len(f"arn::{service}:::/") + _LONGEST_PARTITION + _LONGEST_REGION + _ACCOUNT
    # An ID given as a CDK token (EniFailover in a user's stack) is unknown until deploy:
    # counted as eni_failover_cdk.limits counts any reference, so the packing and the check
    # of the synthesized policies agree.
    id_length = _LONGEST_TOKEN if Token.is_unresolved(resource_id) else len(resource_id)
    return fixed + len(resource) + id_length + len('"",')


def pack(grants: Sequence[ResourceGrant]) -> list[list[ResourceGrant]]:
    """The grants split into documents that each fit a managed policy, in order."""
    budget = MANAGED_POLICY_CHARACTERS - _DOCUMENT_OVERHEAD
    documents: list[list[ResourceGrant]] = []
    current: list[ResourceGrant] = []
    used = 0
    for grant in grants:
        chunk: list[tuple[str, str]] = []
        cost = len(json.dumps(grant.actions)) + len(grant.sid) + 60  # one statement's frame
        for resource in grant.resources:
            size = arn_length(*resource, service=grant.service)
            if used + cost + size > budget and (chunk or current):
                if chunk:
                    current.append(
                        ResourceGrant(grant.sid, grant.actions, tuple(chunk), grant.service)
                    )
                documents.append(current)
                current, chunk, used = [], [], 0
                cost = len(json.dumps(grant.actions)) + len(grant.sid) + 60
            chunk.append(resource)
            used += size
        if chunk:
            current.append(ResourceGrant(grant.sid, grant.actions, tuple(chunk), grant.service))
            used += cost
    if current:
        documents.append(current)
    return documents


def policies_needed(grants: Sequence[ResourceGrant]) -> int:
    return len(pack(grants))


def grant_on_resources(
    scope: Construct, construct_id: str, *, role: iam.IRole, grants: Sequence[ResourceGrant]
) -> list[iam.ManagedPolicy]:
    """The grants as managed policies attached to ``role``; statement IDs numbered per part."""
    stack = Stack.of(scope)
    policies = []
    for number, document in enumerate(pack(grants), start=1):
        statements = [
            iam.PolicyStatement(
                sid=grant.sid,
                actions=list(grant.actions),
                resources=[
                    stack.format_arn(
                        service=grant.service,
                        resource=kind,
                        resource_name=resource_id,
                        arn_format=_ARN_FORMATS.get(grant.service, ArnFormat.SLASH_RESOURCE_NAME),
                    )
                    for kind, resource_id in grant.resources
                ],
            )
            for grant in document
        ]
        policies.append(
            iam.ManagedPolicy(scope, f"{construct_id}{number}", roles=[role], statements=statements)
        )
    return policies
