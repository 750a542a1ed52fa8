"""After the failover, as synthesized: the policy keys, the quarantine group and the fence's
permissions, which name the pair's primary only."""

from __future__ import annotations

from typing import Any

import pytest

from eni_failover.config import FailbackPolicy, FenceMode
from eni_failover_cdk.settings import SettingsError, read_settings
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
from tests.infra.test_stack import (
    INLINE_POLICY,
    MANAGED_POLICY,
    function_properties,
    policy_statements,
    role_statements,
    statements_with,
)

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


def fence_policies(synth: Synthesized) -> list[list[dict[str, Any]]]:
    """The statements of each of the fence's managed policies (FencePolicy1, 2, ...), each
    checked to be a customer-managed policy attached to the function's role."""
    fencing = synth.stack.fencing
    found = []
    for number in range(1, len(fencing.node.children) + 1):
        policy = fencing.node.try_find_child(f"FencePolicy{number}")
        if policy is None:
            break
        assert synth.resources[synth.logical_id(policy)]["Type"] == MANAGED_POLICY
        assert synth.properties(policy)["Roles"] == [synth.ref(synth.stack.failover.role)]
        found.append(policy_statements(synth, policy))
    return found


def test_stop_is_allowed_only_on_the_pairs_instance_arns(stopping: Synthesized) -> None:
    # Given the stack for a pair with fence=stop
    # When the statements allowing StopInstances are read
    (stop,) = statements_with(stopping, "ec2:StopInstances")
    # Then there is one, in the fence's customer-managed policy attached to the function's
    # role (the ARNs of hundreds of pairs would not fit the role's inline policies)
    assert fence_policies(stopping) == [[stop]]
    # And it names exactly the pair's primary, the only instance the function fences: not
    # the standby, no wildcard and no other action
    assert as_list(stop["Action"]) == ["ec2:StopInstances"]
    assert [render(r) for r in as_list(stop["Resource"])] == [f"{ARN_PREFIX}:instance/{PRIMARY}"]
    assert statements_with(stopping, "ec2:ModifyInstanceAttribute") == []
    # And cdk-nag passes with no new acknowledgment
    assert aws_solutions_report(stopping)["violations"] == []


def test_the_function_reads_the_policy(stopping: Synthesized) -> None:
    [pair] = stopping.packaged_config(stopping.stack.failover.function).pairs
    assert (pair.failback.value, pair.failback_after_seconds, pair.fence.value) == (
        "auto",
        300,
        "stop",
    )


def test_no_fence_no_fencing_permission(single_pair: Synthesized) -> None:
    actions = {a for s in role_statements(single_pair) for a in as_list(s["Action"])}
    assert not actions & {"ec2:StopInstances", "ec2:ModifyInstanceAttribute"}
    assert fence_policies(single_pair) == []
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
    # And the function's environment names it (a reference, known at deploy time only), and
    # the function gives it to the isolating pair when it reads its settings
    environment = function_properties(isolating)["Environment"]["Variables"]
    assert environment["QUARANTINE_GROUP_ID"] == {
        "Fn::GetAtt": [isolating.logical_id(group), "GroupId"]
    }
    [pair] = isolating.packaged_config(isolating.stack.failover.function).pairs
    assert pair.quarantine_group_id is None
    assert pair.fence.value == "isolate"


def test_isolate_may_change_only_interfaces_and_groups_in_the_pairs_vpc(
    isolating: Synthesized,
) -> None:
    # Given the statements allowing the group change: per interface, never per instance
    # (ModifyInstanceAttribute Groups fails on an instance with more than one interface)
    assert statements_with(isolating, "ec2:ModifyInstanceAttribute") == []
    assert statements_with(isolating, "ec2:StopInstances") == []
    [modify] = statements_with(isolating, "ec2:ModifyNetworkInterfaceAttribute")
    # Then it names interfaces and security groups, and only in the pairs' VPC
    assert sorted(render(r) for r in as_list(modify["Resource"])) == [
        f"{ARN_PREFIX}:network-interface/*",
        f"{ARN_PREFIX}:security-group/*",
    ]
    assert as_list(modify["Action"]) == ["ec2:ModifyNetworkInterfaceAttribute"]
    assert {k: render(v) for k, v in modify["Condition"]["ArnEquals"].items()} == {
        "ec2:Vpc": f"{ARN_PREFIX}:vpc/{VPC}"
    }
    # And it is an inline policy of the function's role, and the fence names no instance
    groups_policy = isolating.stack.fencing.node.find_child("IsolateGroupsPolicy")
    assert isolating.resources[isolating.logical_id(groups_policy)]["Type"] == INLINE_POLICY
    assert isolating.properties(groups_policy)["Roles"] == [
        isolating.ref(isolating.stack.failover.role)
    ]
    assert policy_statements(isolating, groups_policy) == [modify]
    assert fence_policies(isolating) == []
    # And both wildcards are acknowledged on that policy, with their reason
    suppressed = aws_solutions_report(isolating)["suppressedViolations"]
    findings = [
        f
        for f in suppressed
        if any("/Fencing/" in c["constructPath"] for c in f["violatingConstructs"])
    ]
    assert sorted(f["ruleName"].rsplit(":", 1)[-1] for f in findings) == [
        "network-interface/*]",
        "security-group/*]",
    ]
    for finding in findings:
        assert [c["constructPath"] for c in finding["violatingConstructs"]] == [
            f"{groups_policy.node.path}/Resource"
        ]
        assert "limited to the pairs' VPC" in finding["reason"]


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


NEVER_FAILS_BACK = "would never fail back: the quarantined primary cannot answer the prober"


@pytest.mark.parametrize("listed", [False, True], ids=["single pair", "pairs list"])
def test_isolate_with_an_own_address_probe_and_automatic_failback_is_refused_at_synth(
    listed: bool,
) -> None:
    # Given fence=isolate, failback=auto and a probe of the instances' own addresses
    policy = {"fence": "isolate", "failback": "auto", "probe": "tcp:443", "vpcId": VPC}
    if listed:
        pair = {
            "name": "web",
            "primaryInstanceId": PRIMARY,
            "standbyInstanceId": STANDBY,
            "eniIds": ["eni-0123456789abcdef0"],
            **{k: v for k, v in policy.items() if k != "vpcId"},
        }
        context: dict[str, Any] = {"notifyEmail": "ops@example.com", "vpcId": VPC, "pairs": [pair]}
    else:
        context = {**SINGLE_PAIR_CONTEXT, **policy}
    # When the settings are read
    with pytest.raises(SettingsError) as raised:
        read_settings(context.get)
    # Then synth refuses, saying why and what to choose instead
    [problem] = [p for p in raised.value.problems if NEVER_FAILS_BACK in p]
    assert problem.startswith("pairs[0].fence" if listed else "fence")
    assert "fence=stop" in problem
    assert "failback=manual" in problem
    assert "a probe of a host beyond the pair" in problem


@pytest.mark.parametrize(
    "change",
    [{"fence": "stop"}, {"failback": "manual"}, {"probe": "tcp:db.internal:5432"}],
    ids=["stop", "manual failback", "probe beyond the pair"],
)
def test_each_alternative_to_isolate_with_an_own_probe_is_accepted(change: dict[str, str]) -> None:
    context = {
        **SINGLE_PAIR_CONTEXT,
        "fence": "isolate",
        "failback": "auto",
        "probe": "tcp:443",
        "vpcId": VPC,
        **change,
    }
    problems: list[str] = []
    try:
        read_settings(context.get)
    except SettingsError as error:
        problems = list(error.problems)  # others (the prober's placement) are not this test's
    assert not [p for p in problems if NEVER_FAILS_BACK in p], problems
