"""EniFailover in a user's own CDK app: the user's stack defines a VPC, two instances and a
floating interface, and adds EniFailover naming them by token (instance.instance_id, eni.ref).

The synth passes cdk-nag (the user acknowledges findings on their own resources only) and
cfn-lint; the alarm, the IAM policies and the function's configuration name the user's
resources, resolved by CloudFormation at deploy time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from eni_failover.config import (
    CONFIG_FILE_NAME,
    CONFIG_REF_KEY,
    ENV_CONFIG_FILE,
    ENV_CONFIG_REFS,
    ProberSettings,
    Settings,
)
from eni_failover.contract import (
    OUTPUT_DEAD_LETTER_ALARM_NAME,
    OUTPUT_FUNCTION_NAME,
    OUTPUT_PROBER_FUNCTION_NAME,
    OUTPUT_STATE_RULE_NAME,
    OUTPUT_TRIGGER_TOPIC_ARN,
)
from eni_failover_cdk import EniFailover
from eni_failover_cdk.lambda_package import TooManyTokensError
from eni_failover_cdk.settings import SettingsError
from eni_failover_emulator.template import asset_directory
from tests.infra.conftest import as_list, cdk_json_context, render

# The venv's cfn-lint, as the Makefile runs it.
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")
STACK_NAME = "WebTier"
# What CloudFormation would resolve the user's resources to.
RESOLVED = {
    "Primary": "i-0aaaaaaaaaaaaaaa1",
    "Standby": "i-0aaaaaaaaaaaaaaa2",
    "Floating": "eni-0aaaaaaaaaaaaaaa3",
}
# The user's own resources' findings, acknowledged on them as a user would; never
# EniFailover's (tests/infra/test_nag.py holds those).
USER_ACKNOWLEDGMENTS = {
    "AwsSolutions-VPC7": "a test VPC: flow logs are the user's choice, not the construct's",
    "AwsSolutions-EC26": "test instances: EBS encryption is the user's choice here",
    "AwsSolutions-EC28": "test instances: detailed monitoring is the user's choice here",
    "AwsSolutions-EC29": "test instances: termination protection is the user's choice here",
}


@dataclass(frozen=True)
class UserApp:
    stack: cdk.Stack
    failover: EniFailover
    template: dict[str, Any]
    outdir: Path
    logical_ids: dict[str, str]  # Primary/Standby/Floating -> logical ID in the template

    def resource(self, construct: IConstruct) -> dict[str, Any]:
        child = construct.node.default_child
        assert isinstance(child, cdk.CfnElement)
        resource: dict[str, Any] = self.template["Resources"][self.stack.get_logical_id(child)]
        return resource

    def resolve(self, value: Any) -> Any:
        """A template value with the user's resources' Refs replaced as CloudFormation would."""
        by_id = {logical_id: RESOLVED[name] for name, logical_id in self.logical_ids.items()}
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in by_id:
            return by_id[value["Ref"]]
        if isinstance(value, dict) and set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self.resolve(part)) for part in parts)
        return value


def user_stack(app: cdk.App, *, probed: bool = False) -> tuple[cdk.Stack, dict[str, Any]]:
    """The user's own stack: a VPC, a primary and a standby, a floating interface."""
    stack = cdk.Stack(app, "UserStack", stack_name=STACK_NAME)
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=1,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    subnet = vpc.isolated_subnets[0]
    instances = {
        name: ec2.Instance(
            stack,
            name,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=[subnet]),
            instance_type=ec2.InstanceType("t4g.micro"),
            machine_image=ec2.MachineImage.latest_amazon_linux2023(
                cpu_type=ec2.AmazonLinuxCpuType.ARM_64
            ),
            require_imdsv2=True,
        )
        for name in ("Primary", "Standby")
    }
    floating = ec2.CfnNetworkInterface(
        stack, "Floating", subnet_id=subnet.subnet_id, description="the service's address"
    )
    for construct in (vpc, *instances.values()):
        for rule, reason in USER_ACKNOWLEDGMENTS.items():
            # As a user would, with CDK's own API (cdk-nag 3's plugin prefix, then the rule).
            cdk.Validations.of(construct).acknowledge(
                cdk.Acknowledgment(id=f"AwsSolutions::{rule}", reason=reason)
            )
    config: dict[str, Any] = {
        "primaryInstanceId": instances["Primary"].instance_id,
        "standbyInstanceId": instances["Standby"].instance_id,
        "eniId": floating.ref,
        "notifyEmail": "ops@example.com",
    }
    if probed:
        config |= {"probe": "tcp:443", "vpcId": vpc.vpc_id, "probeSubnetIds": [subnet.subnet_id]}
    return stack, config


def synthesize_user_app(outdir: Path, *, probed: bool = False) -> UserApp:
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    stack, config = user_stack(app, probed=probed)
    failover = EniFailover(stack, "Failover", config=config)
    # As the README says: the AwsSolutions pack over the whole app, failing on any finding.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    logical_ids = {
        name: stack.get_logical_id(child)
        for name in RESOLVED
        if isinstance(child := _default_child(stack.node.find_child(name)), cdk.CfnElement)
    }
    return UserApp(
        stack=stack,
        failover=failover,
        template=dict(Template.from_stack(stack).to_json()),
        outdir=outdir,
        logical_ids=logical_ids,
    )


def _default_child(construct: IConstruct) -> IConstruct:
    return construct.node.default_child or construct


@pytest.fixture(scope="module")
def user_app(tmp_path_factory: pytest.TempPathFactory) -> UserApp:
    return synthesize_user_app(tmp_path_factory.mktemp("user-app"), probed=True)


def nag_report(outdir: Path) -> dict[str, Any]:
    report = json.loads((outdir / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    return dict(nag)


def test_synth_passes_cdk_nag_acknowledging_only_the_users_own_resources(
    user_app: UserApp,
) -> None:
    # Given the user's app synthesized with the AwsSolutions pack (synth raises on a finding)
    report = nag_report(user_app.outdir)
    # Then the pack passed
    assert report["conclusion"] == "success"
    assert report["violations"] == []
    # And what the user acknowledged is on the user's own resources only
    user_paths = {"UserStack/Vpc", "UserStack/Primary", "UserStack/Standby"}
    for finding in report["suppressedViolations"]:
        if finding["ruleName"] in USER_ACKNOWLEDGMENTS:
            assert finding["acknowledgedAt"] in user_paths, finding
        else:  # EniFailover's own, acknowledged inside it
            assert finding["acknowledgedAt"].startswith("UserStack/Failover/"), finding


def test_synth_passes_cfn_lint(user_app: UserApp) -> None:
    # Given the synthesized template, as the Makefile lints it
    template = user_app.outdir / f"{user_app.stack.artifact_id}.template.json"
    # When cfn-lint reads it
    linted = subprocess.run(  # noqa: S603 - the venv's cfn-lint on our own template
        [CFN_LINT, "--ignore-checks", "W3005", "--", str(template)],
        capture_output=True,
        text=True,
        check=False,
    )
    # Then it finds nothing
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_status_alarm_watches_the_users_primary(user_app: UserApp) -> None:
    (watch,) = user_app.failover.triggers.pairs
    alarm = user_app.resource(watch.alarm)["Properties"]
    # Every status-check metric of its math expression is the user's primary's
    dimensions = [
        dimension
        for metric in alarm["Metrics"]
        if "MetricStat" in metric
        for dimension in metric["MetricStat"]["Metric"]["Dimensions"]
    ]
    assert dimensions
    assert all(
        d == {"Name": "InstanceId", "Value": {"Ref": user_app.logical_ids["Primary"]}}
        for d in dimensions
    ), dimensions
    # Named by the enclosing stack, as its topic policy's alarm pattern expects
    assert alarm["AlarmName"] == f"{STACK_NAME}-primary-primary-status"


def test_attach_and_detach_are_scoped_to_the_users_instances_and_interface(
    user_app: UserApp,
) -> None:
    # Given the statements of the managed policies that move interfaces
    statements = [
        statement
        for resource in user_app.template["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "MoveConfiguredInterfaces"
    ]
    # Then they name the user's instances and interface, resolved at deploy time
    arns = {user_app.resolve(arn) for s in statements for arn in as_list(s["Resource"])}
    assert {arn.rsplit(":", 1)[-1] for arn in arns} == {
        f"instance/{RESOLVED['Primary']}",
        f"instance/{RESOLVED['Standby']}",
        f"network-interface/{RESOLVED['Floating']}",
    }


def test_the_functions_configuration_resolves_to_the_users_resources(user_app: UserApp) -> None:
    for function in (user_app.failover.failover.function, user_app.failover.probers[0].function):
        resource = user_app.resource(function)
        variables = resource["Properties"]["Environment"]["Variables"]
        # Given the refs CloudFormation resolves: a JSON list of the tokens' values
        refs = variables[ENV_CONFIG_REFS]
        ids = user_app.logical_ids
        assert render(refs) == (
            f'["${{{ids["Primary"]}}}","${{{ids["Standby"]}}}","${{{ids["Floating"]}}}"]'
        )
        resolved_refs = user_app.resolve(refs)
        # And the packaged file, which holds placeholders, never an unresolved token
        asset = asset_directory(resource, user_app.outdir)
        packaged = (asset / CONFIG_FILE_NAME).read_text()
        assert "${Token[" not in packaged
        assert f'"{CONFIG_REF_KEY}"' in packaged
        # When the function reads its configuration at cold start
        environment = {
            **{
                k: v if isinstance(v, str) else f"resolved-{render(v)}"
                for k, v in variables.items()
            },
            "FAILOVER_ACCOUNT_ID": "123456789012",
            "AWS_REGION": "eu-west-1",
            ENV_CONFIG_FILE: str(asset / variables[ENV_CONFIG_FILE]),
            ENV_CONFIG_REFS: resolved_refs,
        }
        reader = Settings if function is user_app.failover.failover.function else ProberSettings
        if "FAILOVER_FUNCTION_ARN" in environment:  # the prober's, a GetAtt
            environment["FAILOVER_FUNCTION_ARN"] = "arn:aws:lambda:eu-west-1:1:function:f"
        settings = reader.from_environment(environment)
        # Then its pair is the user's instances and interface
        (pair,) = settings.failover.pairs
        assert (pair.primary_instance_id, pair.standby_instance_id, pair.interface_ids) == (
            RESOLVED["Primary"],
            RESOLVED["Standby"],
            (RESOLVED["Floating"],),
        )


def test_the_outputs_keep_the_keys_the_cli_reads(user_app: UserApp) -> None:
    outputs = user_app.template["Outputs"]
    for key in (
        OUTPUT_FUNCTION_NAME,
        OUTPUT_TRIGGER_TOPIC_ARN,
        OUTPUT_DEAD_LETTER_ALARM_NAME,
        OUTPUT_STATE_RULE_NAME,
        OUTPUT_PROBER_FUNCTION_NAME,
    ):
        assert key in outputs, sorted(outputs)
    # And the names they hold derive from the enclosing stack's name
    assert outputs[OUTPUT_DEAD_LETTER_ALARM_NAME]["Value"] == f"{STACK_NAME}-dead-letters"
    assert outputs[OUTPUT_STATE_RULE_NAME]["Value"] == f"{STACK_NAME}-instance-state"


def test_a_second_eni_failover_in_the_same_stack_is_refused() -> None:
    app = cdk.App(context=cdk_json_context())
    stack, config = user_stack(app)
    EniFailover(stack, "Failover", config=config)
    with pytest.raises(ValueError, match=r"already has one \(UserStack/Failover\)") as refused:
        EniFailover(stack, "Another", config=config)
    assert "FunctionName" in str(refused.value)


def test_a_stack_name_other_than_the_enclosing_stacks_is_refused_with_the_rest() -> None:
    app = cdk.App(context=cdk_json_context())
    stack, config = user_stack(app)
    with pytest.raises(SettingsError) as refused:
        EniFailover(
            stack,
            "Failover",
            config={**config, "stackName": "EniFailover", "evaluationPeriod": "3"},
        )
    # Every problem at once: the mismatch, and the context's own (a misspelt key)
    assert any(
        p.startswith("stackName: 'EniFailover', but EniFailover is in the stack 'WebTier'")
        for p in refused.value.problems
    ), refused.value.problems
    assert any("did you mean evaluationPeriods?" in p for p in refused.value.problems)


def test_a_stack_name_equal_to_the_enclosing_stacks_is_accepted() -> None:
    app = cdk.App(context=cdk_json_context())
    stack, config = user_stack(app)
    failover = EniFailover(stack, "Failover", config={**config, "stackName": STACK_NAME})
    assert failover.settings.stack_name == STACK_NAME


def test_a_malformed_literal_id_is_still_refused_beside_tokens() -> None:
    app = cdk.App(context=cdk_json_context())
    stack, config = user_stack(app)
    with pytest.raises(SettingsError) as refused:
        EniFailover(stack, "Failover", config={**config, "standbyInstanceId": "i-nothex00"})
    assert refused.value.problems == (
        "standbyInstanceId: 'i-nothex00' is not an instance ID: 'i-' then 8 or 17 hex digits",
    )


def token_pairs(count: int) -> list[dict[str, Any]]:
    """``count`` pairs whose instances and interface are tokens (values another stack
    exports), three tokens a pair."""
    return [
        {
            "name": f"nat-{n}",
            "primaryInstanceId": cdk.Fn.import_value(f"primary-{n}"),
            "standbyInstanceId": cdk.Fn.import_value(f"standby-{n}"),
            "eniIds": [cdk.Fn.import_value(f"interface-{n}")],
        }
        for n in range(count)
    ]


def test_as_many_token_pairs_as_the_environment_holds_fit_iams_limits(tmp_path: Path) -> None:
    # Given 23 pairs of tokens (69 values, the most FAILOVER_CONFIG_REFS holds), whose ARNs
    # IAM's limits must be checked for at their longest, as any reference is
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    stack = cdk.Stack(app, "UserStack", stack_name=STACK_NAME)
    failover = EniFailover(
        stack, "Failover", config={"pairs": token_pairs(23), "notifyEmail": "ops@example.com"}
    )
    # When it is synthesized (the limits are checked at synth), then it passes
    app.synth()
    # And the ARNs were packed into as many managed policies as they need, within a role's 10
    policies = [
        c for c in failover.failover.node.find_all() if isinstance(c, cdk.aws_iam.CfnManagedPolicy)
    ]
    assert 1 < len(policies) <= 10


def test_more_tokens_than_the_environment_holds_are_refused_at_synth() -> None:
    # Given 25 pairs whose instances and interfaces are all tokens (75 values to resolve,
    # each up to 29 bytes in FAILOVER_CONFIG_REFS: more than the 2 KB kept for them)
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "UserStack", stack_name=STACK_NAME)
    pairs = token_pairs(25)
    # When EniFailover is added, then synth stops, saying why and what to do
    with pytest.raises(TooManyTokensError, match="75 values are CDK tokens") as refused:
        EniFailover(stack, "Failover", config={"pairs": pairs, "notifyEmail": "ops@example.com"})
    assert "give the other IDs as literal text" in str(refused.value)
