"""The Lambda package both functions run: the lambda/ directory, the stack's pair
configuration beside it, and the pinned Powertools layer.

The prober runs the failover function's own code, so it parses the same configuration and
sends triggers in the format the function parses. CDK stores an asset once per content
hash and resolves the layer parameter once per stack, so both functions get one asset and
one layer (tests/infra/test_prober.py compares them).

The pairs are a file of the package (eni_failover.config.CONFIG_FILE_NAME), not an
environment variable: Lambda's 4 KB of environment held about 14 pairs, a file holds any
number, needs no call at cold start and no permission, and changes with the code it was
validated for (a parameter would hold at most 8 KB, about 40 pairs, and could drift from
the deployed code).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from eni_failover.config import CONFIG_FILE_NAME, FailoverConfig
from eni_failover_cdk import LAMBDA_SOURCE

# The Powertools release the tests run with: requirements.txt pins the same version, and
# tests/infra/test_stack.py fails when the two disagree.
POWERTOOLS_VERSION = "3.37.0"
# The public parameter that holds that release's layer ARN in the deploy region, resolved by
# CloudFormation at deploy time (synth needs no credentials). Not ".../latest": that one
# moves with every Powertools release, so production would drift from what was tested.
POWERTOOLS_LAYER_PARAMETER = f"/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}"
# What never belongs in the package: bytecode compiled on the deploying machine.
EXCLUDE = ("__pycache__", "*.pyc")


def package_code(failover: FailoverConfig) -> lambda_.Code:
    """The code and the pairs, staged together; CDK copies the directory into the cloud
    assembly (content-hashed), so the staging directory is removed when synth ends."""
    staging = Path(tempfile.mkdtemp(prefix="eni-failover-package-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    shutil.copytree(
        LAMBDA_SOURCE, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*EXCLUDE)
    )
    # Fields in the models' order, no spaces: the same pairs give the same bytes, so the
    # same asset hash, and a redeploy with unchanged pairs changes no function.
    (staging / CONFIG_FILE_NAME).write_text(
        failover.model_dump_json(exclude_defaults=True), encoding="utf-8"
    )
    return lambda_.Code.from_asset(str(staging))


def powertools_layer(scope: Construct, construct_id: str) -> lambda_.ILayerVersion:
    """The pinned Powertools layer, its ARN resolved by CloudFormation at deploy time."""
    return lambda_.LayerVersion.from_layer_version_arn(
        scope,
        construct_id,
        ssm.StringParameter.value_for_string_parameter(scope, POWERTOOLS_LAYER_PARAMETER),
    )
