"""cdk.json sets every CDK feature flag, so that `npx cdk synth`/`deploy` print no "N feature
flags are not configured" notice, and the flags change none of the Makefile's six templates.

The CDK CLI nags about each flag left unset whose default differs from its recommended value.
cdk.json sets them all to the recommended value but one: `@aws-cdk/aws-iam:minimizePolicies`
stays false, as it was unset, because it would reorder the actions of the function's and the
prober's IAM statements (the same permissions, a different template). Each test here
synthesizes one of the Makefile's contexts with cdk.json's flags and without any, in this
process, and compares the templates; CDKMetadata (the CLI's analytics, which records the
flags) aside.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from app import build_app
from bench.synth_time import fleet_context
from tests.infra.conftest import ROOT, cdk_json_context

SAMPLE = {
    "primaryInstanceId": "i-0123456789abcdef0",
    "standbyInstanceId": "i-0fedcba9876543210",
    "eniId": "eni-0123456789abcdef0",
    "notifyEmail": "ops@example.com",
}
# The Makefile's synth contexts (its fleet has 200 pairs; 20 have the same resources' shapes).
MAKEFILE_CONTEXTS: dict[str, dict[str, Any]] = {
    "sample": SAMPLE,
    "probed": SAMPLE
    | {
        "probe": "tcp:443",
        "vpcId": "vpc-0123456789abcdef0",
        "probeSubnetIds": "subnet-0123456789abcdef0",
        "triggerAlarms": "web-unhealthy",
    },
    "fenced": SAMPLE | {"failback": "auto", "fence": "stop"},
    "fleet": {
        "notifyEmail": "ops@example.com",
        "discovery": "tags",
        "pairs": json.dumps(fleet_context(20)),
    },
    "alarmed": SAMPLE
    | {
        "triggerAlarms": ",".join(
            f"checkout-service-{n:02d}-unhealthy-host-count" for n in range(1, 61)
        )
    },
    "routed": {
        "primaryInstanceId": "i-0123456789abcdef0",
        "standbyInstanceId": "i-0fedcba9876543210",
        "routeTableIds": "rtb-0123456789abcdef0,rtb-0fedcba9876543210",
        "routeCidrs": "0.0.0.0/0",
        "eipAllocationIds": "eipalloc-0123456789abcdef0",
        "notifyEmail": "ops@example.com",
    },
}


def flags() -> dict[str, Any]:
    return {k: v for k, v in cdk_json_context().items() if k.startswith("@aws-cdk")}


def template(context: dict[str, Any], outdir: Path) -> dict[str, Any]:
    app = cdk.App(outdir=str(outdir), context=context)
    stack = build_app(app)
    synthesized: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    synthesized["Resources"].pop("CDKMetadata", None)
    return synthesized


def test_cdk_json_sets_every_flag_the_cli_would_nag_about() -> None:
    # Given cdk.json
    configured = flags()
    # Then the flags are set: the recommended ones, minimizePolicies kept as it behaved
    assert len(configured) > 80
    assert configured["@aws-cdk/aws-iam:minimizePolicies"] is False
    assert configured["@aws-cdk/core:target-partitions"] == ["aws", "aws-cn"]
    # And no pair: cdk.json holds only the flags
    assert json.loads((ROOT / "cdk.json").read_text())["app"] == ".venv/bin/python app.py"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MAKEFILE_CONTEXTS))
def test_the_flags_change_no_template_of_the_makefile(name: str, tmp_path: Path) -> None:
    context = MAKEFILE_CONTEXTS[name]
    # When the context is synthesized with cdk.json's flags and with none
    flagged = template({**flags(), **context}, tmp_path / "flagged")
    plain = template(context, tmp_path / "plain")
    # Then the templates are the same
    assert flagged == plain
