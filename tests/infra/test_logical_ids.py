"""Upgrading a deployment made before EniFailover existed replaces nothing: the app's template
is the one the stack synthesized itself (tests/infra/baselines/, synthesized by `cdk synth`
with the Makefile's contexts at the commit before the construct), logical IDs first.

Only what carries no resource's identity may differ: the construct paths in the resources'
metadata (the construct sits under the stack's "Default"), the CLI's version-reporting
resource, and the function code's asset key (its content hash, which changes whenever the
function's code does).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import synthesize

BASELINES = Path(__file__).parent / "baselines"
# The Makefile's SAMPLE_CONTEXT, PROBED_CONTEXT, FENCED_CONTEXT and ROUTED_CONTEXT.
SAMPLE = {
    "primaryInstanceId": "i-0123456789abcdef0",
    "standbyInstanceId": "i-0fedcba9876543210",
    "eniId": "eni-0123456789abcdef0",
    "notifyEmail": "ops@example.com",
}
CONTEXTS: dict[str, dict[str, str]] = {
    "sample": SAMPLE,
    "probed": {
        **SAMPLE,
        "probe": "tcp:443",
        "vpcId": "vpc-0123456789abcdef0",
        "probeSubnetIds": "subnet-0123456789abcdef0",
        "triggerAlarms": "web-unhealthy",
    },
    "fenced": {**SAMPLE, "failback": "auto", "fence": "stop"},
    "routed": {
        "primaryInstanceId": "i-0123456789abcdef0",
        "standbyInstanceId": "i-0fedcba9876543210",
        "routeTableIds": "rtb-0123456789abcdef0,rtb-0fedcba9876543210",
        "routeCidrs": "0.0.0.0/0",
        "eipAllocationIds": "eipalloc-0123456789abcdef0",
        "notifyEmail": "ops@example.com",
    },
}
# Added by the CDK CLI (version reporting), not by the app.
CLI_ONLY_RESOURCES = {"CDKMetadata"}
CLI_ONLY_CONDITIONS = {"CDKMetadataAvailable"}
# Written by the CLI's synth only: construct paths and where assets were staged.
CLI_ONLY_METADATA = ("aws:cdk:path", "aws:asset:")
ASSET_KEY = "<function code asset>"


def comparable(template: dict[str, Any]) -> dict[str, Any]:
    """The template without construct paths, the CLI's own resource and metadata, and
    asset hashes."""
    template = json.loads(json.dumps(template))
    for logical_id in CLI_ONLY_RESOURCES:
        template["Resources"].pop(logical_id, None)
    conditions = template.get("Conditions", {})
    for name in CLI_ONLY_CONDITIONS:
        conditions.pop(name, None)
    if not conditions:
        template.pop("Conditions", None)
    for resource in template["Resources"].values():
        metadata = {
            key: value
            for key, value in resource.get("Metadata", {}).items()
            if not key.startswith(CLI_ONLY_METADATA)
        }
        resource["Metadata"] = metadata
        if not metadata:
            resource.pop("Metadata", None)
        code = resource.get("Properties", {}).get("Code")
        if isinstance(code, dict) and "S3Key" in code:
            code["S3Key"] = ASSET_KEY
    return template


@pytest.fixture(scope="module", params=sorted(CONTEXTS))
def templates(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], dict[str, Any]]:
    name: str = request.param
    baseline = json.loads((BASELINES / f"{name}.template.json").read_text())
    synthesized = synthesize(CONTEXTS[name], tmp_path_factory.mktemp(name))
    return comparable(baseline), comparable(dict(synthesized.template.to_json()))


def test_every_resource_and_output_keeps_its_logical_id(
    templates: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    # Given the template the stack synthesized before EniFailover, and the app's today
    before, now = templates
    # Then the same resources, of the same types, under the same logical IDs
    assert {k: v["Type"] for k, v in now["Resources"].items()} == {
        k: v["Type"] for k, v in before["Resources"].items()
    }
    # And the same outputs, under the keys the CLI reads
    assert now["Outputs"].keys() == before["Outputs"].keys()


def test_the_whole_template_is_unchanged(
    templates: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    before, now = templates
    assert now == before
