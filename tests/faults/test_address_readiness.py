"""The readiness check of a pair of routes, Elastic IPs and secondary IPs (issue 19).

One check line per address kind, read off decide's own reasons; the source/destination
check the routes need on the standby; where every address is now; and a DryRun of each
kind's real call with the function's own role. ReplaceRoute and AssociateAddress answer
DryRun; AssignPrivateIpAddresses has none, so its permission is always inconclusive, never
a pass and never a failure. ec2sim answers a ReplaceRoute DryRun as EC2 does
(DryRunOperation, after its own checks, the route unchanged), where moto applied the route.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from eni_failover.clients import AwsClients
from eni_failover_cli import check as check_command
from eni_failover_ec2sim import FaithfulEC2
from eni_failover_ec2sim.topology import build_address_pair
from tests.faults.address_scene import AddressScene, make_scene

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


def checks_of(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in result["checks"]}


def results(result: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["result"] for c in result["checks"]}


def check(scene: AddressScene) -> dict[str, Any]:
    [result] = scene.deployment.invoke({"action": "check"})["checks"]
    assert isinstance(result, dict)
    return result


def deny_route_dry_runs(scene: AddressScene) -> None:
    """EC2's answer to each ReplaceRoute DryRun (one per route table) when the role may not
    replace the route (moto checks no IAM)."""
    scene.sim.fail(
        "ReplaceRoute", "UnauthorizedOperation", times=len(scene.topology.route_table_ids)
    )


def test_a_pair_of_routes_and_an_elastic_ip_across_zones_is_ready_kind_by_kind(
    across_zones: AddressScene,
) -> None:
    scene, topology = across_zones, across_zones.topology
    # Given a healthy pair across zones holding its routes and Elastic IP on the primary

    # When the operator checks it
    result = check(scene)

    # Then every kind has its own passing line, and each table's and allocation's
    # permission was proved by a DryRun
    [table_a, table_b] = topology.route_table_ids
    [allocation] = topology.allocation_ids
    assert results(result) == {
        "standby": "pass",
        "zones": "pass",
        "routes": "pass",
        "elastic IPs": "pass",
        "source/destination check": "pass",
        "location": "pass",
        f"route permission ({table_a})": "pass",
        f"route permission ({table_b})": "pass",
        f"elastic IP permission ({allocation})": "pass",
    }
    assert (result["verdict"], result["ready"]) == ("READY", True)
    lines = checks_of(result)
    assert "us-east-1a" in lines["zones"]["detail"]
    assert "us-east-1b" in lines["zones"]["detail"]
    assert lines["location"]["detail"].startswith(f"on the primary {scene.primary}")
    # And nothing moved: a DryRun is not a move
    assert set(scene.route_targets().values()) == {topology.primary_interface_id}
    assert scene.eip_interfaces() == [topology.primary_interface_id]
    assert not scene.calls
    # And `eni-failover check` prints one line per kind
    text = "\n".join(check_command.describe_pair(result))
    for name in ("routes", "elastic IPs", "source/destination check", "zones"):
        assert re.search(rf"PASS\s+{re.escape(name)}\s", text)


def test_source_destination_checking_on_the_standby_fails_with_the_fix(
    across_zones: AddressScene,
) -> None:
    scene, topology = across_zones, across_zones.topology
    # Given the standby's interface checks source and destination (the EC2 default)
    scene.ec2.modify_network_interface_attribute(
        NetworkInterfaceId=topology.standby_interface_id, SourceDestCheck={"Value": True}
    )

    result = check(scene)

    # Then the check fails, says why EC2 would drop the routed traffic, and how to fix it
    line = checks_of(result)["source/destination check"]
    assert line["result"] == "fail"
    assert f"the standby {scene.standby}" in line["detail"]
    assert "drops the traffic" in line["detail"]
    assert (
        f"aws ec2 modify-instance-attribute --instance-id {scene.standby} --no-source-dest-check"
    ) in line["detail"]
    assert topology.standby_interface_id in line["detail"]
    assert result["verdict"] == "NOT READY: source/destination check"


def test_a_role_without_replace_route_fails_its_permission(across_zones: AddressScene) -> None:
    scene, topology = across_zones, across_zones.topology
    # Given a role that lost ec2:ReplaceRoute
    deny_route_dry_runs(scene)

    result = check(scene)

    [table_a, table_b] = topology.route_table_ids
    assert results(result)[f"route permission ({table_a})"] == "fail"
    assert results(result)[f"route permission ({table_b})"] == "fail"
    assert result["ready"] is False
    assert (
        "ReplaceRoute is not allowed"
        in checks_of(result)[f"route permission ({table_a})"]["detail"]
    )


def test_a_missing_elastic_ip_and_a_missing_route_fail_their_kinds(
    sim: FaithfulEC2, ec2: EC2Client, clients: AwsClients, stack_template: dict[str, Any]
) -> None:
    topology = build_address_pair(ec2, name="edge", route_tables=1)
    # Given a pair listing an allocation the account does not have, and a destination the
    # route table has no route to
    listed = replace(
        topology,
        allocation_ids=("eipalloc-0123456789abcdef0",),
        route_cidrs=("10.9.0.10/32", "10.9.0.11/32"),
    )
    scene = make_scene(sim, ec2, clients, stack_template, listed)

    result = check(scene)

    lines = checks_of(result)
    assert lines["elastic IPs"]["result"] == "fail"
    assert "eipalloc-0123456789abcdef0 does not exist" in lines["elastic IPs"]["detail"]
    assert "in this account" in lines["elastic IPs"]["detail"]
    assert lines["routes"]["result"] == "fail"
    [table] = topology.route_table_ids
    assert f"{table} has no route to 10.9.0.11/32" in lines["routes"]["detail"]
    # The route that exists was still asked about: one DryRun for the table
    assert results(result)[f"route permission ({table})"] == "pass"
    assert "elastic IP permission (eipalloc-0123456789abcdef0)" not in lines
    assert result["verdict"].startswith("NOT READY: routes, elastic IPs")


def test_secondary_ips_permission_is_inconclusive_never_passed_nor_failed(
    same_subnet: AddressScene,
) -> None:
    scene = same_subnet
    # Given a pair of two secondary IPs in one subnet

    result = check(scene)

    # Then the private IPs pass, and their permission is one inconclusive line saying why
    lines = checks_of(result)
    assert lines["private IPs"]["result"] == "pass"
    assert lines["private IP permission"]["result"] == "inconclusive"
    assert "no DryRun" in lines["private IP permission"]["detail"]
    assert (result["verdict"], result["ready"]) == (
        "READY, UNCONFIRMED: private IP permission",
        True,
    )
    # And no call was made for it
    assert scene.sim.calls["AssignPrivateIpAddresses"] == 0
    # And routes are not asked about: the pair has none
    assert "source/destination check" not in lines
    text = "\n".join(check_command.describe_pair(result))
    assert "1 check(s) INCONCLUSIVE" in text
    assert "AssignPrivateIpAddresses" in text


def test_a_pair_across_zones_listing_private_ips_fails_the_zones_check(
    sim: FaithfulEC2, ec2: EC2Client, clients: AwsClients, stack_template: dict[str, Any]
) -> None:
    # Given a pair across zones that lists a secondary IP beside its route and Elastic IP
    topology = build_address_pair(ec2, name="edge", route_tables=1, secondary_private_ips=1)
    scene = make_scene(sim, ec2, clients, stack_template, topology)

    result = check(scene)

    # Then the zones check fails with decide's reason, and the pair is not ready
    line = checks_of(result)["zones"]
    assert line["result"] == "fail"
    assert "across zones a pair may hold only routes and Elastic IPs" in line["detail"]
    assert "secondary private IPs (privateIps)" in line["detail"]
    assert result["ready"] is False
    assert "zones" in result["verdict"]


def test_after_a_failover_the_addresses_on_the_standby_mean_failback_is_pending(
    across_zones: AddressScene,
) -> None:
    scene = across_zones
    scene.sim.set_status(scene.primary, instance="impaired")
    assert scene.deliver(scene.alarm()).error is None
    scene.sim.set_status(scene.primary, instance="ok")

    result = check(scene)

    line = checks_of(result)["location"]
    assert line["result"] == "pass"
    assert "already on the standby: failback is pending" in line["detail"]


def test_an_elastic_ip_on_nothing_fails_the_location(across_zones: AddressScene) -> None:
    scene, topology = across_zones, across_zones.topology
    # Given the Elastic IP was disassociated: nobody serves it
    [address] = scene.ec2.describe_addresses(AllocationIds=list(topology.allocation_ids))[
        "Addresses"
    ]
    scene.ec2.disassociate_address(AssociationId=address["AssociationId"])
    scene.sim.settle()

    result = check(scene)

    line = checks_of(result)["location"]
    assert line["result"] == "fail"
    assert "served by neither instance" in line["detail"]
    assert "eni-failover failover edge" in line["detail"]


def test_a_pair_across_zones_listing_an_interface_fails_the_interfaces_and_zones_checks(
    sim: FaithfulEC2, ec2: EC2Client, clients: AwsClients, stack_template: dict[str, Any]
) -> None:
    # Given a pair across zones with a route, an Elastic IP and a floating interface
    topology = build_address_pair(ec2, name="edge", route_tables=1)
    floating = ec2.create_network_interface(SubnetId=topology.subnet_id)["NetworkInterface"]
    ec2.attach_network_interface(
        NetworkInterfaceId=floating["NetworkInterfaceId"],
        InstanceId=topology.primary_instance_id,
        DeviceIndex=1,
    )
    sim.settle()
    scene = make_scene(
        sim, ec2, clients, stack_template, topology, interface_ids=(floating["NetworkInterfaceId"],)
    )

    result = check(scene)

    # Then both lines fail with decide's reason: an interface cannot leave its zone
    lines = checks_of(result)
    for name in ("interfaces", "zones"):
        assert lines[name]["result"] == "fail"
        assert "can only move within its Availability Zone" in lines[name]["detail"]
    assert result["ready"] is False
