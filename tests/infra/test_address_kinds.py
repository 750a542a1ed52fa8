"""The address kinds as synthesized (issue 19): each mutating call allowed only on what the
pairs list, or, where AWS lets nothing be named at synth, on what is documented to narrow
it; the reads the kinds need; and nothing for a kind no pair uses."""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from eni_failover_cdk.failover_function import (
    ELASTIC_IP_ACTIONS,
    ELASTIC_IP_READ_ACTIONS,
    PRIVATE_IP_ACTIONS,
    ROUTE_ACTIONS,
    ROUTE_READ_ACTIONS,
)
from eni_failover_cdk.fencing import ISOLATE_ACTIONS, STOP_ACTIONS
from eni_failover_cdk.lambda_package import FUNCTION_PACKAGE
from tests.infra.conftest import PRIMARY, STANDBY, Synthesized, as_list, render, synthesize
from tests.infra.test_address_kind_settings import (
    ALLOCATION,
    NAT,
    OTHER_TABLE,
    ROUTED_CONTEXT,
    TABLE,
    VIP,
    VPC,
)
from tests.infra.test_nag import aws_solutions_report
from tests.infra.test_settings import WEB
from tests.infra.test_stack import (
    ARN_PREFIX,
    INLINE_POLICY,
    MANAGED_POLICY,
    role_statements,
    statements_with,
)

TAG_CONDITION = {"Null": {"aws:ResourceTag/eni-failover:pair": "false"}}
PRIMARY_INTERFACES = f"{ARN_PREFIX}:network-interface/*"


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Issue 19's done-when command: two routes and an Elastic IP, no eniId."""
    return synthesize(ROUTED_CONTEXT, tmp_path_factory.mktemp("routed"))


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Interfaces, routes and an Elastic IP, and secondary IPs, each in its own pair."""
    context = {"pairs": [WEB, NAT, VIP], "notifyEmail": "ops@example.com", "vpcId": VPC}
    return synthesize(context, tmp_path_factory.mktemp("every-kind"))


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Pairs declared by tags only: none can be named at synth."""
    context = {"discovery": "tags", "notifyEmail": "ops@example.com"}
    return synthesize(context, tmp_path_factory.mktemp("tagged-kinds"))


def rendered(statement: dict[str, Any]) -> list[str]:
    return sorted(render(r) for r in as_list(statement["Resource"]))


def conditions(statement: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        operator: {key: render(value) for key, value in keys.items()}
        for operator, keys in statement.get("Condition", {}).items()
    }


# --- the done-when stack: routes and an Elastic IP ----------------------------------------


def test_replace_route_only_on_the_listed_route_tables(routed: Synthesized) -> None:
    # Given the statements that allow ReplaceRoute
    [replace] = statements_with(routed, "ec2:ReplaceRoute")
    # Then one names exactly the two route tables, unconditionally, in a managed policy
    assert as_list(replace["Action"]) == ["ec2:ReplaceRoute"]
    assert rendered(replace) == [
        f"{ARN_PREFIX}:route-table/{TABLE}",
        f"{ARN_PREFIX}:route-table/{OTHER_TABLE}",
    ]
    assert "Condition" not in replace
    assert statements_with(routed, "ec2:ReplaceRoute", MANAGED_POLICY) == [replace]


def test_associate_address_only_on_the_listed_allocation_and_primary_interfaces(
    routed: Synthesized,
) -> None:
    # Given the statements that allow AssociateAddress
    associate = statements_with(routed, "ec2:AssociateAddress")
    # Then the Elastic IP side names the one allocation (a managed policy, with the ARNs)
    [allocations] = [s for s in associate if "elastic-ip" in str(s["Resource"])]
    assert rendered(allocations) == [f"{ARN_PREFIX}:elastic-ip/{ALLOCATION}"]
    assert statements_with(routed, "ec2:AssociateAddress", MANAGED_POLICY) == [allocations]
    # And the interface side is the primary interfaces, found at run time: any interface of
    # the account and Region, never another account's, nor an instance or "*"
    [interfaces] = [s for s in associate if s is not allocations]
    assert rendered(interfaces) == [PRIMARY_INTERFACES]
    assert as_list(interfaces["Action"]) == ["ec2:AssociateAddress"]
    policy = routed.stack.failover.node.find_child("PrimaryInterfacePolicy")
    assert routed.properties(policy)["PolicyDocument"]["Statement"] == [interfaces]
    assert routed.properties(policy)["Roles"] == [routed.ref(routed.stack.failover.role)]
    # And nothing else allows it
    assert len(associate) == 2


def test_a_pair_without_interfaces_attaches_and_assigns_nothing(routed: Synthesized) -> None:
    for action in (
        "ec2:AttachNetworkInterface",
        "ec2:DetachNetworkInterface",
        *PRIVATE_IP_ACTIONS,
        *STOP_ACTIONS,
        *ISOLATE_ACTIONS,
    ):
        assert statements_with(routed, action) == [], action


def test_no_mutating_call_is_allowed_on_star(routed: Synthesized) -> None:
    # Given all the role's statements
    statements = role_statements(routed)
    # Then those on "*" are EC2 reads (the kinds' two among them) and X-Ray only
    unscoped = sorted(
        action
        for s in statements
        if "*" in as_list(s["Resource"])
        for action in as_list(s["Action"])
    )
    assert unscoped == [
        "ec2:DescribeAddresses",
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeInstances",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeRouteTables",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]
    # And every other EC2 resource is of this account and Region, and a wildcard ID only
    # where no ID can be known at synth (the primary interfaces)
    for s in statements:
        for resource in as_list(s["Resource"]):
            text = render(resource)
            if text.startswith("arn:") and ":ec2:" in text:
                assert text.startswith(f"{ARN_PREFIX}:"), text
                assert not text.endswith("/*") or text == PRIMARY_INTERFACES, text


def test_the_primary_interface_wildcard_is_acknowledged_on_its_policy(
    routed: Synthesized,
) -> None:
    # Given the routed stack's nag report (the fixture's synth raised on any finding)
    report = aws_solutions_report(routed)
    assert report["violations"] == []
    # Then the network-interface/* wildcard is acknowledged on the one policy holding it
    [finding] = [
        f for f in report["suppressedViolations"] if f["ruleName"].endswith("network-interface/*]")
    ]
    assert [c["constructPath"] for c in finding["violatingConstructs"]] == [
        "EniFailover/Default/Failover/PrimaryInterfacePolicy/Resource"
    ]
    assert "found at run time" in finding["reason"]


def test_the_packaged_configuration_carries_the_routes_and_the_elastic_ip(
    routed: Synthesized,
) -> None:
    # Given the pairs packaged with the function's code (the CLI asks the function)
    (pair,) = routed.packaged_config(routed.stack.failover.function).pairs
    # Then the function reads the routes and the Elastic IP the context listed
    assert (pair.primary_instance_id, pair.standby_instance_id) == (PRIMARY, STANDBY)
    assert pair.routes == ((TABLE, "0.0.0.0/0"), (OTHER_TABLE, "0.0.0.0/0"))
    assert pair.eip_allocation_ids == (ALLOCATION,)
    assert pair.interface_ids == ()


# --- every kind in one stack --------------------------------------------------------------


def test_private_ips_are_assigned_only_to_interfaces_of_the_pairs_vpc(
    every_kind: Synthesized,
) -> None:
    # Given the statement that allows AssignPrivateIpAddresses
    [assign] = statements_with(every_kind, "ec2:AssignPrivateIpAddresses")
    # Then it is the primary interfaces, and only in the VPC vpcId names
    assert as_list(assign["Action"]) == ["ec2:AssignPrivateIpAddresses"]
    assert rendered(assign) == [PRIMARY_INTERFACES]
    assert conditions(assign) == {"ArnEquals": {"ec2:Vpc": f"{ARN_PREFIX}:vpc/{VPC}"}}
    assert statements_with(every_kind, "ec2:AssignPrivateIpAddresses", INLINE_POLICY) == [assign]


def test_attach_and_detach_name_only_the_pairs_that_move_interfaces(
    every_kind: Synthesized,
) -> None:
    [move] = statements_with(every_kind, "ec2:AttachNetworkInterface")
    assert rendered(move) == sorted(
        [
            f"{ARN_PREFIX}:instance/{WEB['primaryInstanceId']}",
            f"{ARN_PREFIX}:instance/{WEB['standbyInstanceId']}",
            *(f"{ARN_PREFIX}:network-interface/{i}" for i in WEB["eniIds"]),
        ]
    )


def test_every_ec2_action_the_function_calls_is_granted_where_every_kind_is_used(
    every_kind: Synthesized,
) -> None:
    # Given the EC2 operations the function's code calls (botocore's method names in lambda/)
    model = botocore.session.get_session().get_service_model("ec2")
    operations = {xform_name(name): name for name in model.operation_names}
    source = "\n".join(path.read_text() for path in FUNCTION_PACKAGE.rglob("*.py"))
    called = {f"ec2:{operations[m]}" for m in re.findall(r"\.(\w+)\(", source) if m in operations}
    # When the role's EC2 actions are collected
    granted = {
        action
        for s in role_statements(every_kind)
        for action in as_list(s["Action"])
        if action.startswith("ec2:")
    }
    # Then with every kind in use the role may do exactly what the code does (fencing
    # only where a pair fences: tests/infra/test_fencing.py)
    assert granted == called - {*STOP_ACTIONS, *ISOLATE_ACTIONS}
    kinds = {
        *ROUTE_ACTIONS,
        *ROUTE_READ_ACTIONS,
        *ELASTIC_IP_ACTIONS,
        *ELASTIC_IP_READ_ACTIONS,
        *PRIVATE_IP_ACTIONS,
    }
    assert kinds <= granted


# --- pairs declared by tags ---------------------------------------------------------------


def test_tagged_route_tables_and_elastic_ips_move_only_with_the_pair_tag(
    tagged: Synthesized,
) -> None:
    # Given a stack of tagged pairs only: nothing can be named at synth
    assert statements_with(tagged, "ec2:ReplaceRoute", MANAGED_POLICY) == []
    # Then ReplaceRoute is on route tables that carry the pair tag, only
    [replace] = statements_with(tagged, "ec2:ReplaceRoute")
    assert rendered(replace) == [f"{ARN_PREFIX}:route-table/*"]
    assert conditions(replace) == TAG_CONDITION
    # And AssociateAddress on Elastic IPs that carry it, and the primary interfaces
    associate = statements_with(tagged, "ec2:AssociateAddress")
    by_resource = {tuple(rendered(s)): conditions(s) for s in associate}
    assert by_resource == {
        (f"{ARN_PREFIX}:elastic-ip/*",): TAG_CONDITION,
        (PRIMARY_INTERFACES,): {},
    }
    # And attach and detach stay on tagged instances and interfaces
    [move] = statements_with(tagged, "ec2:AttachNetworkInterface")
    assert rendered(move) == [f"{ARN_PREFIX}:instance/*", PRIMARY_INTERFACES]
    assert conditions(move) == TAG_CONDITION
    # And no secondary IP is assigned: tags declare no privateIps
    assert statements_with(tagged, "ec2:AssignPrivateIpAddresses") == []
    # And each tag-scoped wildcard is acknowledged on its policy, with the reason
    suppressed = aws_solutions_report(tagged)["suppressedViolations"]
    reasons = {
        f["ruleName"].rsplit(":", 1)[-1]: f["reason"]
        for f in suppressed
        if "ReadStatePolicy" in f["violatingConstructs"][0]["constructPath"]
        and f["ruleName"].endswith("/*]")
    }
    assert set(reasons) == {
        "instance/*]",
        "network-interface/*]",
        "route-table/*]",
        "elastic-ip/*]",
    }
    assert all("eni-failover:pair" in reason for reason in reasons.values())
