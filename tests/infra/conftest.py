"""Synthesize the app once per context and share the result: CDK synth takes seconds."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from constructs import IConstruct

from app import build_app
from eni_failover.config import CONFIG_FILE_NAME, FailoverConfig
from eni_failover_cdk.stack import EniFailoverStack
from eni_failover_emulator.template import asset_directory

ROOT = Path(__file__).resolve().parents[2]

PRIMARY = "i-0123456789abcdef0"
STANDBY = "i-0fedcba9876543210"
INTERFACE = "eni-0123456789abcdef0"
SECOND_INTERFACE = "eni-0aaaaaaaaaaaaaaa1"
EMAILS = ("ops@example.com", "oncall@example.com")

# One pair the way an operator passes it on the command line (every value a string).
SINGLE_PAIR_CONTEXT: dict[str, Any] = {
    "primaryInstanceId": PRIMARY,
    "standbyInstanceId": STANDBY,
    "eniId": f"{INTERFACE},{SECOND_INTERFACE}",
    "notifyEmail": ",".join(EMAILS),
}


def cdk_json_context() -> dict[str, Any]:
    """The context cdk.json gives every real synth, so tests see the same feature flags."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text()).get("context", {})
    return context


@dataclass(frozen=True)
class Synthesized:
    stack: EniFailoverStack
    template: Template
    outdir: Path

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template.to_json()["Resources"]
        return resources

    def logical_id(self, construct: IConstruct) -> str:
        child = construct.node.default_child
        assert isinstance(child, cdk.CfnElement), f"{construct.node.path} has no resource"
        return self.stack.get_logical_id(child)

    def ref(self, construct: IConstruct) -> dict[str, str]:
        return {"Ref": self.logical_id(construct)}

    def arn(self, construct: IConstruct) -> dict[str, list[str]]:
        return {"Fn::GetAtt": [self.logical_id(construct), "Arn"]}

    def properties(self, construct: IConstruct) -> dict[str, Any]:
        properties: dict[str, Any] = self.resources[self.logical_id(construct)]["Properties"]
        return properties

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self.template.to_json()["Resources"]
        return {k: v for k, v in found.items() if v["Type"] == resource_type}

    def packaged_config(self, function: IConstruct) -> FailoverConfig:
        """The pairs the function's code asset packages beside the code, as the function
        reads them."""
        packaged = self.asset_directory(function) / CONFIG_FILE_NAME
        return FailoverConfig.model_validate_json(packaged.read_text())

    def asset_directory(self, function: IConstruct) -> Path:
        """Where the cloud assembly staged the function's code."""
        return asset_directory(self.resources[self.logical_id(function)], self.outdir)

    def validation_report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads((self.outdir / "validation-report.json").read_text())
        return report


def synthesize(context: Mapping[str, Any], outdir: Path) -> Synthesized:
    """Synthesize the app exactly as app.py does, cdk-nag included (it fails on findings)."""
    app = cdk.App(outdir=str(outdir), context={**cdk_json_context(), **context})
    stack = build_app(app)
    app.synth()
    return Synthesized(stack=stack, template=Template.from_stack(stack), outdir=outdir)


def render(value: Any) -> Any:
    """Fn::Join/Ref/GetAtt as one readable string: '${AWS::Region}', '${Queue.Arn}'."""
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(render(part)) for part in parts)
        if function == "Ref":
            return f"${{{argument}}}"
        if function == "Fn::GetAtt":
            return f"${{{argument[0]}.{argument[1]}}}"
    return value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="session")
def single_pair(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(SINGLE_PAIR_CONTEXT, tmp_path_factory.mktemp("single-pair"))
