"""The Lambda package both functions run: the function's code (the installed `eni_failover`
package, so a checkout and a wheel ship the same asset), the stack's pair configuration
beside it, and the pinned Powertools layer.

The prober runs the failover function's own code, so it parses the same configuration and
sends triggers in the format the function parses. CDK stores an asset once per content
hash and resolves the layer parameter once per stack, so both functions get one asset and
one layer (tests/infra/test_prober.py compares them).

The pairs are a file of the package (eni_failover.config.CONFIG_FILE_NAME), not an
environment variable: Lambda's 4 KB of environment held about 14 pairs, a file holds any
number, needs no call at cold start and no permission, and changes with the code it was
validated for (a parameter would hold at most 8 KB, about 40 pairs, and could drift from
the deployed code).

A file is an asset, and CloudFormation never resolves an asset's contents. So where the
configuration holds CDK tokens (EniFailover in a user's stack, given `instance.instance_id`),
the file holds a placeholder for each and the function's environment the resolved values
(eni_failover.config.ENV_CONFIG_REFS), which the function substitutes at cold start before
validating them.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Stack, Token
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

import eni_failover
from eni_failover.config import CONFIG_FILE_NAME, CONFIG_REF_KEY, ENV_CONFIG_REFS, FailoverConfig

# The Powertools release the tests run with: requirements.txt pins the same version, and
# tests/infra/test_stack.py fails when the two disagree.
POWERTOOLS_VERSION = "3.37.0"
# The public parameter that holds that release's layer ARN in the deploy region, resolved by
# CloudFormation at deploy time (synth needs no credentials). Not ".../latest": that one
# moves with every Powertools release, so production would drift from what was tested.
POWERTOOLS_LAYER_PARAMETER = f"/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}"
# What never belongs in the package: bytecode compiled on the deploying machine.
EXCLUDE = ("__pycache__", "*.pyc")
# The function's code: the package as installed (editable from a checkout's lambda/, or from
# the wheel), staged under its own name at the root of the asset (Lambda's task root).
FUNCTION_PACKAGE = Path(eni_failover.__file__).resolve().parent
# Lambda allows 4 KB of environment variables in all. The refs are the only variable whose
# size grows with the configuration; the others (names, ARNs, a URL) take well under 2 KB.
REFS_BUDGET_BYTES = 2048
# A token is validated at cold start as one of the ID forms; the longest, an Elastic IP
# allocation ('eipalloc-' and 17 hex digits), with its quotes and comma in the JSON list.
LONGEST_REF_BYTES = len('"eipalloc-0123456789abcdef0",')


class TooManyTokensError(ValueError):
    """The configuration's tokens would not fit in the function's environment."""


@dataclass(frozen=True)
class FunctionPackage:
    """The code asset, and the variables that complete its configuration at deploy time."""

    code: lambda_.Code
    environment: Mapping[str, str] = field(default_factory=dict)


def with_placeholders(failover: FailoverConfig) -> tuple[str, list[str]]:
    """The configuration file's text, each token replaced by {"$ref": N}, and the tokens in
    N's order (each distinct token once). Without tokens: the bytes it always had."""
    document = failover.model_dump(mode="json", exclude_defaults=True)
    tokens: list[str] = []

    def replace(node: object) -> object:
        if isinstance(node, str) and Token.is_unresolved(node):
            if node not in tokens:
                tokens.append(node)
            return {CONFIG_REF_KEY: tokens.index(node)}
        if isinstance(node, dict):
            return {key: replace(value) for key, value in node.items()}
        if isinstance(node, list):
            return [replace(item) for item in node]
        return node

    replaced = replace(document)
    if not tokens:
        # Fields in the models' order, no spaces: the same pairs give the same bytes, so the
        # same asset hash, and a redeploy with unchanged pairs changes no function.
        return failover.model_dump_json(exclude_defaults=True), []
    return json.dumps(replaced, separators=(",", ":"), ensure_ascii=False), tokens


def check_refs_fit(tokens: list[str]) -> None:
    """Refuse at synth a configuration whose resolved values could not fit the environment."""
    frame = len(ENV_CONFIG_REFS) + len("[]")
    size = frame + len(tokens) * LONGEST_REF_BYTES
    if size > REFS_BUDGET_BYTES:
        fitting = (REFS_BUDGET_BYTES - frame) // LONGEST_REF_BYTES
        raise TooManyTokensError(
            f"config: {len(tokens)} values are CDK tokens; their resolved values travel in the "
            f"functions' environment ({ENV_CONFIG_REFS}, up to {size:,} bytes), and Lambda "
            f"allows 4 KB of environment in all, of which {REFS_BUDGET_BYTES:,} bytes are "
            f"kept for them (about {fitting} tokens): give the other IDs as literal text"
        )


def package_code(scope: Construct, failover: FailoverConfig) -> FunctionPackage:
    """The code and the pairs, staged together; CDK copies the directory into the cloud
    assembly (content-hashed), so the staging directory is removed when synth ends."""
    text, tokens = with_placeholders(failover)
    check_refs_fit(tokens)
    staging = Path(tempfile.mkdtemp(prefix="eni-failover-package-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    shutil.copytree(
        FUNCTION_PACKAGE,
        staging / FUNCTION_PACKAGE.name,
        ignore=shutil.ignore_patterns(*EXCLUDE),
    )
    (staging / CONFIG_FILE_NAME).write_text(text, encoding="utf-8")
    environment = {ENV_CONFIG_REFS: Stack.of(scope).to_json_string(tokens)} if tokens else {}
    return FunctionPackage(code=lambda_.Code.from_asset(str(staging)), environment=environment)


def powertools_layer(scope: Construct, construct_id: str) -> lambda_.ILayerVersion:
    """The pinned Powertools layer, its ARN resolved by CloudFormation at deploy time."""
    return lambda_.LayerVersion.from_layer_version_arn(
        scope,
        construct_id,
        ssm.StringParameter.value_for_string_parameter(scope, POWERTOOLS_LAYER_PARAMETER),
    )
