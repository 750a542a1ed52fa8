"""Acknowledging a cdk-nag finding: on its resource, with a reason, in the audit trail."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

# With the plugin's prefix the acknowledgment is applied by CDK's validation framework and
# listed, with its reason, under suppressedViolations in the cloud assembly's
# validation-report.json; without it the finding vanishes without a trace.
_PACK_PREFIX = "AwsSolutions::"


def acknowledge(construct: IConstruct, rule: str, *, reason: str) -> None:
    """Acknowledge AwsSolutions ``rule`` (e.g. 'AwsSolutions-IAM5[Resource::*]') here only."""
    Validations.of(construct).acknowledge(Acknowledgment(id=_PACK_PREFIX + rule, reason=reason))
