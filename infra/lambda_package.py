"""The Lambda package both functions run: the lambda/ directory and the pinned Powertools layer.

The prober runs the failover function's own code, so it parses the same configuration and
sends triggers in the format the function parses. CDK stores an asset once per content
hash and resolves the layer parameter once per stack, so both functions get one asset and
one layer (tests/infra/test_prober.py compares them).
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra import LAMBDA_SOURCE
from infra.failover_function import POWERTOOLS_LAYER_PARAMETER

# What never belongs in the package: bytecode compiled on the deploying machine.
EXCLUDE = ["**/__pycache__", "*.pyc"]


def package_code() -> lambda_.Code:
    return lambda_.Code.from_asset(str(LAMBDA_SOURCE), exclude=EXCLUDE)


def powertools_layer(scope: Construct, construct_id: str) -> lambda_.ILayerVersion:
    """The pinned Powertools layer, its ARN resolved by CloudFormation at deploy time."""
    return lambda_.LayerVersion.from_layer_version_arn(
        scope,
        construct_id,
        ssm.StringParameter.value_for_string_parameter(scope, POWERTOOLS_LAYER_PARAMETER),
    )
