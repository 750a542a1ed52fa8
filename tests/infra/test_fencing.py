"""After the failover, as synthesized: the policy keys, the quarantine group and the fence's
permissions, which name the pair's instances only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eni_failover.config import FailbackPolicy, FenceMode
from infra.settings import SettingsError, read_settings
from tests.infra.conftest import (
    PRIMARY,
    SINGLE_PAIR_CONTEXT,
    STANDBY,
    Synthesized,
    as_list,
    render,
    synthesize,
)
from tests.infra.test_nag import aws_solutions_report
from tests.infra.test_stack import function_properties, role_statements, statements_with

VPC = "vpc-0123456789abcdef0"
# The stack is env-agnostic, so the account and region are CloudFormation's pseudo-parameters.
ARN_PREFIX = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}"


@pytest.fixture(scope="module")
def stopping(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = {**SINGLE_PAIR_CONTEXT, "failback": "auto", "fence": "stop"}
    return synthesize(context, tmp_path_factory.mktemp("fence-stop"))


@pytest.fixture(scope="module")
def isolating(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = {**SINGLE_PAIR_CONTEXT, "fence": "isolate", "vpcId": VPC}
    return synthesize(context, tmp_path_factory.mktemp("fence-isolate"))


def test_stop_is_allowed_only_on_the_pairs_instance_arns(stopping: Synthesized) -> None:
    # Given the stack for a pair with fence=stop
    # When the statements allowing StopInstances are read
    (stop,) = statements_with(stopping, "ec2:StopInstances")
    # Then they name exactly the pair's two instances, with no wildcard and no other action
    assert as_list(stop["Action"]) == ["ec2:StopInstances"]
    assert sorted(render(r) for r in as_list(stop["Resource"])) == [
        f"{ARN_PREFIX}:instance/{PRIMARY}",
        f"{ARN_PREFIX}:instance/{STANDBY}",
    ]
    assert statements_with(stopping, "ec2:ModifyInstanceAttribute") == []
    # And cdk-nag passes with no new acknowledgment
    assert aws_solutions_report(stopping)["violations"] == []


def test_the_function_reads_the_policy_and_the_cli_sees_it(stopping: Synthesized) -> None:
    environment = function_properties(stopping)["Environment"]["Variables"]
    [pair] = json.loads(environment["FAILOVER_CONFIG"])["pairs"]
    assert (pair["failback"], pair["failback_after_seconds"], pair["fence"]) == (
        "auto",
        300,
        "stop",
    )
    outputs = stopping.template.to_json()["Outputs"]
    [entry] = json.loads(outputs["PairsJson"]["Value"]).values()
    assert (entry["failback"], entry["failbackAfterSeconds"], entry["fence"]) == (
        "auto",
        300,
        "stop",
    )


def test_no_fence_no_fencing_permission(single_pair: Synthesized) -> None:
    actions = {a for s in role_statements(single_pair) for a in as_list(s["Action"])}
    assert not actions & {"ec2:StopInstances", "ec2:ModifyInstanceAttribute"}
    assert single_pair.of_type("AWS::EC2::SecurityGroup") == {}


def test_isolate_creates_an_empty_quarantine_group_in_the_vpc(isolating: Synthesized) -> None:
    group = isolating.stack.fencing.quarantine_group
    assert group is not None
    properties = isolating.properties(group)
    # No ingress, and the one egress rule CDK writes to match no traffic at all
    assert properties["VpcId"] == VPC
    assert "SecurityGroupIngress" not in properties
    assert properties["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]
    # And the function's configuration names it for the isolating pair
    config = render(function_properties(isolating)["Environment"]["Variables"]["FAILOVER_CONFIG"])
    assert f'"quarantine_group_id":"${{{isolating.logical_id(group)}.GroupId}}"' in config


def test_isolate_may_modify_only_the_pairs_instances(isolating: Synthesized) -> None:
    (isolate,) = statements_with(isolating, "ec2:ModifyInstanceAttribute")
    assert sorted(render(r) for r in as_list(isolate["Resource"])) == [
        f"{ARN_PREFIX}:instance/{PRIMARY}",
        f"{ARN_PREFIX}:instance/{STANDBY}",
        f"{ARN_PREFIX}:security-group/*",
    ]
    assert statements_with(isolating, "ec2:StopInstances") == []
    # The security-group wildcard is acknowledged on the fence policy, with its reason
    suppressed = aws_solutions_report(isolating)["suppressedViolations"]
    [finding] = [
        f
        for f in suppressed
        if any("Fencing/FencePolicy" in c["constructPath"] for c in f["violatingConstructs"])
    ]
    assert "security-group/*" in finding["ruleName"]
    assert "gives back the security groups" in finding["reason"]


# --- the context keys ----------------------------------------------------------------------


def read(**context: Any) -> Any:
    return read_settings({**SINGLE_PAIR_CONTEXT, **context}.get)


def test_policy_keys_for_one_pair_and_in_a_pairs_list() -> None:
    [pair] = read(failback="auto", failbackAfterSeconds="600", maxAutomaticMoves="2").failover.pairs
    assert (pair.failback, pair.failback_after_seconds, pair.max_automatic_moves) == (
        FailbackPolicy.AUTO,
        600,
        2,
    )
    assert pair.fence is FenceMode.NONE
    listed = {
        "notifyEmail": "ops@example.com",
        "vpcId": VPC,
        "pairs": [
            {
                "name": "web",
                "primaryInstanceId": PRIMARY,
                "standbyInstanceId": STANDBY,
                "eniIds": ["eni-0123456789abcdef0"],
                "failback": "auto",
                "fence": "isolate",
            }
        ],
    }
    settings = read_settings(listed.get)
    [web] = settings.failover.pairs
    assert (web.failback, web.fence) == (FailbackPolicy.AUTO, FenceMode.ISOLATE)
    assert settings.quarantine_vpc_id == VPC


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"failback": "sometimes"}, "failback: 'sometimes' is not 'manual'"),
        ({"fence": "shoot"}, "fence: 'shoot' is not 'none', 'stop'"),
        (
            {"failback": "auto", "failbackAfterSeconds": "10"},
            "failbackAfterSeconds: '10' is not a whole number of seconds from 60",
        ),
        ({"maxAutomaticMoves": "0"}, "maxAutomaticMoves: '0' is not a whole number"),
        (
            {"failbackAfterSeconds": "600"},
            "failbackAfterSeconds: given, but failback is not 'auto'",
        ),
        ({"fence": "isolate"}, "vpcId: missing; fence is 'isolate'"),
    ],
)
def test_bad_policy_values_are_named_with_what_was_expected(
    context: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        read(**context)
    assert any(message in problem for problem in raised.value.problems), raised.value.problems
