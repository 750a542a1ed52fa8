"""EventBridge's and IAM's size limits, which a large stack meets only when it deploys.

CloudFormation takes a template whose rule pattern or policy is too long; EventBridge or IAM
refuses it halfway through the deploy. So the app measures every event pattern and every
identity policy at synth, as the services will once the references are resolved, and refuses
a template that would not fit (`FitsServiceLimits`); constructs that list many names split
them across rules with `chunked`.

A reference is measured at its longest: the partition, Region and account ID as long as AWS
makes them, and any other Ref or GetAtt (a resource's name or ARN) as 256 characters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import jsii
from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import IConstruct, IValidation

from eni_failover_cdk.resource_policies import MANAGED_POLICIES_PER_ROLE, MANAGED_POLICY_CHARACTERS

# EventBridge's default quota for an event pattern (adjustable on request; 4,096 is not the
# default). IAM counts a policy without whitespace; a role's inline policies share 10,240.
EVENT_PATTERN_CHARACTERS = 2048
ROLE_INLINE_POLICY_CHARACTERS = 10240
# The pseudo parameters at their longest: "aws-iso-b"-like partitions, Region names such as
# "ap-southeast-5" with room, 12-digit accounts, "amazonaws.com.cn".
_LONGEST_PSEUDO = {
    "AWS::Partition": 10,
    "AWS::Region": 16,
    "AWS::AccountId": 12,
    "AWS::URLSuffix": 16,
}
# A resource's name or ARN: SNS, SQS and DynamoDB names go to 256, with the ARN around them.
_LONGEST_REFERENCE = 256

_T = TypeVar("_T")


def at_longest(resolved: Any) -> Any:
    """A resolved template value with every reference replaced by text of its longest length."""
    if isinstance(resolved, list):
        return [at_longest(item) for item in resolved]
    if not isinstance(resolved, dict):
        return resolved
    if len(resolved) == 1:
        ((function, argument),) = resolved.items()
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(at_longest(part)) for part in parts)
        if function == "Ref":
            return "x" * _LONGEST_PSEUDO.get(str(argument), _LONGEST_REFERENCE)
        if function.startswith("Fn::"):
            return "x" * _LONGEST_REFERENCE
    return {key: at_longest(value) for key, value in resolved.items()}


def characters(scope: IConstruct, value: Any) -> int:
    """How long ``value`` is once deployed, at its longest, as JSON without whitespace."""
    resolved = Stack.of(scope).resolve(value)
    return len(json.dumps(at_longest(resolved), separators=(",", ":"), ensure_ascii=False))


def chunked(
    scope: IConstruct,
    items: Sequence[_T],
    *,
    pattern: Callable[[list[_T]], Mapping[str, Any]],
    limit: int = EVENT_PATTERN_CHARACTERS,
) -> list[list[_T]]:
    """``items`` in order, split so that each part's ``pattern`` fits ``limit`` characters."""
    frame = characters(scope, dict(pattern([])))
    parts: list[list[_T]] = []
    current: list[_T] = []
    used = frame
    for item in items:
        size = characters(scope, item) + 1  # and the comma before the next
        if current and used + size > limit:
            parts.append(current)
            current, used = [], frame
        current.append(item)
        used += size
    if current:
        parts.append(current)
    return parts


@jsii.implements(IValidation)
class FitsServiceLimits:
    """Refuses, at synth, a stack whose rule pattern or identity policy would not deploy."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack

    def validate(self) -> list[str]:
        return list(limit_problems(self._stack))


def limit_problems(stack: Stack) -> Iterator[str]:
    """Each rule pattern, policy and role of ``stack`` that a service would refuse."""
    inline: dict[str, list[tuple[str, int]]] = {}
    managed: dict[str, list[tuple[str, int]]] = {}
    roles: dict[str, iam.CfnRole] = {}
    for construct in stack.node.find_all():
        if isinstance(construct, events.CfnRule) and construct.event_pattern is not None:
            size = characters(stack, construct.event_pattern)
            if size > EVENT_PATTERN_CHARACTERS:
                yield (
                    f"{construct.node.path}: its event pattern is {size:,} characters at its "
                    f"longest, and EventBridge accepts at most {EVENT_PATTERN_CHARACTERS:,} "
                    "(its default quota): split what it lists across rules (limits.chunked)"
                )
        elif isinstance(construct, iam.CfnManagedPolicy | iam.CfnPolicy):
            size = characters(stack, construct.policy_document)
            if size > MANAGED_POLICY_CHARACTERS:
                yield (
                    f"{construct.node.path}: its policy is {size:,} characters at its longest "
                    f"without whitespace, and IAM accepts at most {MANAGED_POLICY_CHARACTERS:,}: "
                    "pack its resources into managed policies (eni_failover_cdk.resource_policies)"
                )
            held = managed if isinstance(construct, iam.CfnManagedPolicy) else inline
            for role in _as_list(stack.resolve(construct.roles)):
                held.setdefault(_logical_id(role), []).append((construct.node.path, size))
        elif isinstance(construct, iam.CfnRole):
            roles[stack.get_logical_id(construct)] = construct
    for logical_id, role in roles.items():
        yield from _role_problems(stack, role, inline.get(logical_id, []), managed.get(logical_id))


def _role_problems(
    stack: Stack,
    role: iam.CfnRole,
    inline: Sequence[tuple[str, int]],
    managed: Sequence[tuple[str, int]] | None,
) -> Iterator[str]:
    own_inline = [
        characters(stack, p.get("PolicyDocument", p))
        for p in _as_list(stack.resolve(role.policies))
    ]
    inline_size = sum(size for _, size in inline) + sum(own_inline)
    if inline_size > ROLE_INLINE_POLICY_CHARACTERS:
        yield (
            f"{role.node.path}: its inline policies are {inline_size:,} characters at their "
            f"longest, and IAM allows a role {ROLE_INLINE_POLICY_CHARACTERS:,} in all: move "
            "statements into managed policies (eni_failover_cdk.resource_policies)"
        )
    attached = len(managed or ()) + len(_as_list(stack.resolve(role.managed_policy_arns)))
    if attached > MANAGED_POLICIES_PER_ROLE:
        yield (
            f"{role.node.path}: {attached} managed policies are attached to it, and IAM "
            f"attaches at most {MANAGED_POLICIES_PER_ROLE} to a role by default: fewer, "
            "fuller policies (eni_failover_cdk.resource_policies.pack), or fewer pairs per stack"
        )


def _logical_id(role: Any) -> str:
    if isinstance(role, dict) and "Ref" in role:
        return str(role["Ref"])
    return json.dumps(role)  # a role named, not ours: never matches one of the stack's


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
