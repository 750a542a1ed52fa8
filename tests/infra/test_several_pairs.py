"""Several pairs from a `pairs` list: one alarm per pair; one rule and one function for all."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns

from app import build_app
from tests.infra.conftest import Synthesized, as_list, cdk_json_context, render, synthesize
from tests.infra.test_settings import DB, WEB

ARN_PREFIX = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}"
PAIRS = (WEB, DB)


@pytest.fixture(scope="module")
def several_pairs(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    # The list as cdk.json holds it (numbers as numbers), with tuning and a stack name,
    # in an account that cannot spare reserved concurrency.
    context = {
        "pairs": list(PAIRS),
        "notifyEmail": "ops@example.com",
        "evaluationPeriods": 3,
        "swapDeadlineSeconds": 80,
        "stackName": "Failover-Prod",
        "reservedConcurrency": "none",
    }
    return synthesize(context, tmp_path_factory.mktemp("several-pairs"))


def test_one_alarm_per_pair_on_its_own_primary(several_pairs: Synthesized) -> None:
    # Given two pairs
    for pair in PAIRS:
        # When the alarm named after the pair is looked up
        alarms = several_pairs.template.find_resources(
            "AWS::CloudWatch::Alarm",
            {"Properties": {"AlarmName": f"Failover-Prod-{pair['name']}-primary-status"}},
        )
        # Then both of its metrics watch that pair's primary, with the configured
        # evaluation periods
        (alarm,) = alarms.values()
        dimensions = [
            m["MetricStat"]["Metric"]["Dimensions"]
            for m in alarm["Properties"]["Metrics"]
            if "MetricStat" in m
        ]
        assert dimensions == [[{"Name": "InstanceId", "Value": pair["primaryInstanceId"]}]] * 2
        assert alarm["Properties"]["EvaluationPeriods"] == 3
        assert alarm["Properties"]["AlarmActions"] == [
            several_pairs.ref(several_pairs.stack.triggers.topic)
        ]


def test_one_state_change_rule_serves_every_pair(several_pairs: Synthesized) -> None:
    # Given two pairs
    # When the stack's rules on EC2 state changes are looked up
    rules = [
        r
        for r in several_pairs.of_type("AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.ec2"]
    ]
    # Then there is one, named for the stack, matching the two primaries only (sorted),
    # and targeting the one trigger topic
    (rule,) = rules
    assert rule["Properties"]["Name"] == "Failover-Prod-instance-state"
    assert rule["Properties"]["EventPattern"]["detail"]["instance-id"] == [
        WEB["primaryInstanceId"],
        DB["primaryInstanceId"],
    ]
    assert [t["Arn"] for t in rule["Properties"]["Targets"]] == [
        several_pairs.ref(several_pairs.stack.triggers.topic)
    ]


def test_one_function_serves_every_pair(several_pairs: Synthesized) -> None:
    # Given the stack
    functions = several_pairs.of_type("AWS::Lambda::Function")
    # Then a single function holds both pairs, reserving no concurrency as told
    assert list(functions) == [several_pairs.logical_id(several_pairs.stack.failover.function)]
    (function,) = functions.values()
    assert "ReservedConcurrentExecutions" not in function["Properties"]
    config = several_pairs.packaged_config(several_pairs.stack.failover.function)
    # And a swap deadline longer than the default stretches the timeout to fit it
    assert config.tuning.swap_deadline_seconds == 80
    assert function["Properties"]["Timeout"] == 10 + 80 + 10
    assert [(p.name, p.alarm_name) for p in config.pairs] == [
        ("web", "Failover-Prod-web-primary-status"),
        ("db", "Failover-Prod-db-primary-status"),
    ]


def test_interface_moves_cover_every_pair(several_pairs: Synthesized) -> None:
    # Given the policy statement that moves interfaces (a managed policy: an inline one
    # would share the role's 10,240 characters, about 50 pairs' ARNs)
    role = several_pairs.ref(several_pairs.stack.failover.role)
    statements = [
        s
        for p in several_pairs.of_type("AWS::IAM::ManagedPolicy").values()
        if role in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "ec2:AttachNetworkInterface" in as_list(s["Action"])
    ]
    (move,) = statements
    # Then it names every instance and interface of both pairs, and nothing more
    expected = [
        f"{ARN_PREFIX}:instance/{pair[key]}"
        for pair in PAIRS
        for key in ("primaryInstanceId", "standbyInstanceId")
    ] + [f"{ARN_PREFIX}:network-interface/{eni}" for pair in PAIRS for eni in pair["eniIds"]]
    assert sorted(render(r) for r in move["Resource"]) == sorted(expected)


def test_no_output_per_pair(several_pairs: Synthesized) -> None:
    # Given the outputs
    outputs = {n: o["Value"] for n, o in several_pairs.template.to_json()["Outputs"].items()}
    # Then they name the stack's resources only (CloudFormation allows 200 outputs): the
    # function lists the pairs to the CLI
    assert outputs["StateRuleName"] == "Failover-Prod-instance-state"
    assert not [name for name in outputs if name.startswith("Pair")]


def test_an_unacknowledged_finding_stops_synth(tmp_path: Path) -> None:
    # Given the app with one resource that breaks AwsSolutions rules (no SSL-only policy)
    app = cdk.App(
        outdir=str(tmp_path),
        context={**cdk_json_context(), "pairs": [WEB], "notifyEmail": "ops@example.com"},
    )
    stack = build_app(app)
    sns.Topic(stack, "Careless")
    # When it is synthesized
    # Then synth fails, naming the rule
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    violations = [v for r in report["pluginReports"] for v in r["violations"]]
    assert "AwsSolutions-SNS3" in {v["ruleName"] for v in violations}
    assert {c["constructPath"] for v in violations for c in v["violatingConstructs"]} == {
        "EniFailover/Careless/Resource"
    }
