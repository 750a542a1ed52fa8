"""Routes, Elastic IPs and secondary IPs follow the failover, across zones where AWS allows.

Each scene is a pair whose primary holds the addresses through its primary interface; the
failover must put every one on the standby's, verified by EC2's own describes, and say in
one notification where each address is. A pair across zones may hold only routes and
Elastic IPs: anything else is refused before a call is made.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from eni_failover.clients import AwsClients
from eni_failover.config import FenceMode
from eni_failover_ec2sim import CallEvent, FaithfulEC2
from eni_failover_ec2sim.topology import build_address_pair
from tests.faults.address_scene import AddressScene, make_scene
from tests.faults.views import Killed, LambdaDeadline, facts, instance_state, outcome_of
from tests.integration.conftest import TEST_TUNING

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


def test_routes_and_an_elastic_ip_follow_a_failed_primary_to_another_zone(
    across_zones: AddressScene,
) -> None:
    scene, topology = across_zones, across_zones.topology
    # Given a primary in us-east-1a whose status check fails
    scene.sim.set_status(scene.primary, instance="impaired")

    # When its alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then both routes and the Elastic IP are on the standby's interface in us-east-1b
    assert delivery.error is None
    assert set(scene.route_targets().values()) == {topology.standby_interface_id}
    assert scene.eip_interfaces() == [topology.standby_interface_id]
    # with one call per address
    assert scene.calls == Counter(ReplaceRoute=2, AssociateAddress=1)
    # and one notification saying where each address is now
    [told] = scene.notifications()
    assert outcome_of(told) == "swapped"
    moved = {a["address"]: a["on_instance"] for a in facts(told)["addresses"]}
    assert moved == {
        **{
            f"{t} {c}": scene.standby
            for t in topology.route_table_ids
            for c in topology.route_cidrs
        },
        topology.allocation_ids[0]: scene.standby,
    }
    assert "verified" in [s["step"] for s in facts(told)["steps"]]
    assert topology.public_ips[0] in told["message"]


def test_secondary_ips_are_reassigned_without_moving_an_interface(
    same_subnet: AddressScene,
) -> None:
    scene, topology = same_subnet, same_subnet.topology
    scene.sim.set_status(scene.primary, system="impaired")

    delivery = scene.deliver(scene.alarm())

    assert delivery.error is None
    assert scene.ips_on(topology.standby_interface_id) == set(topology.private_ips)
    assert scene.ips_on(topology.primary_interface_id) == set()
    assert scene.calls == Counter(AssignPrivateIpAddresses=2)
    assert scene.sim.calls["DetachNetworkInterface"] == 0
    [told] = scene.notifications()
    assert outcome_of(told) == "swapped"


def test_a_pair_across_zones_with_a_secondary_ip_is_refused_before_any_call(
    sim: FaithfulEC2, ec2: EC2Client, clients: AwsClients, stack_template: dict[str, Any]
) -> None:
    topology = build_address_pair(ec2, name="edge", secondary_private_ips=1)
    scene = make_scene(sim, ec2, clients, stack_template, topology)
    scene.sim.set_status(scene.primary, instance="impaired")

    delivery = scene.deliver(scene.alarm())

    assert delivery.error is None
    assert scene.calls == Counter()
    assert set(scene.route_targets().values()) == {topology.primary_interface_id}
    [told] = scene.notifications()
    assert outcome_of(told) == "refused"
    [why] = [r for r in facts(told)["reasons"] if "across zones" in r]
    assert "us-east-1a" in why
    assert "us-east-1b" in why
    assert "secondary private IPs (privateIps)" in why


def test_an_interface_of_a_pair_across_zones_is_refused_too(
    sim: FaithfulEC2, ec2: EC2Client, clients: AwsClients, stack_template: dict[str, Any]
) -> None:
    topology = build_address_pair(ec2, name="edge")
    floating = ec2.create_network_interface(SubnetId=topology.subnet_id)["NetworkInterface"]
    ec2.attach_network_interface(
        NetworkInterfaceId=floating["NetworkInterfaceId"],
        InstanceId=topology.primary_instance_id,
        DeviceIndex=1,
    )
    sim.settle()
    scene = make_scene(
        sim,
        ec2,
        clients,
        stack_template,
        topology,
        interface_ids=(floating["NetworkInterfaceId"],),
    )
    scene.sim.set_status(scene.primary, instance="impaired")

    scene.deliver(scene.alarm())

    assert scene.calls == Counter()
    assert scene.sim.calls["DetachNetworkInterface"] == 0
    [told] = scene.notifications()
    assert outcome_of(told) == "refused"
    assert "can only move within its Availability Zone" in " ".join(facts(told)["reasons"])


def test_a_move_cut_short_after_one_route_is_finished_by_the_retry(
    across_zones: AddressScene,
) -> None:
    scene, topology = across_zones, across_zones.topology
    scene.sim.set_status(scene.primary, instance="impaired")
    # Given EC2 takes one ReplaceRoute and refuses the other, and Lambda kills the
    # invocation right after the one it took (the calls go out together)
    context = LambdaDeadline(remaining_seconds=6.0)

    def killed(event: CallEvent) -> None:
        raise Killed("Lambda timed out after ReplaceRoute")

    scene.sim.fail("ReplaceRoute", "InvalidParameterValue", times=1)
    scene.sim.on("ReplaceRoute", killed, times=1)
    event = scene.alarm()
    with pytest.raises(Killed):
        scene.deliver(event, context)
    assert scene.notifications() == []
    targets = scene.route_targets()
    assert Counter(targets.values()) == Counter(
        [topology.primary_interface_id, topology.standby_interface_id]
    )

    # When Lambda retries the same event
    context.wait_until_passed()
    scene.deliver(event, context.retry_context())

    # Then every address is on the standby, and the one notification says it resumed
    assert set(scene.route_targets().values()) == {topology.standby_interface_id}
    assert scene.eip_interfaces() == [topology.standby_interface_id]
    [told] = scene.notifications()
    assert outcome_of(told) == "swapped"
    assert facts(told)["resumed"] is True


def test_an_address_ec2_refuses_ends_in_a_failure_that_says_where_each_one_is(
    across_zones: AddressScene,
) -> None:
    scene, topology = across_zones, across_zones.topology
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.sim.fail("AssociateAddress", "InvalidParameterValue", times=1)

    delivery = scene.deliver(scene.alarm())

    # The routes moved; the Elastic IP is still on the primary, and the failure says so
    assert delivery.error is not None
    assert set(scene.route_targets().values()) == {topology.standby_interface_id}
    assert scene.eip_interfaces() == [topology.primary_interface_id]
    [told] = scene.notifications()
    assert outcome_of(told) == "failed"
    assert "EC2 refused to move elastic-ip" in facts(told)["error"]
    where = {a["address"]: a["on_instance"] for a in facts(told)["addresses"]}
    assert where[topology.allocation_ids[0]] == scene.primary


def test_throttled_calls_are_made_again_within_the_deadline(
    across_zones: AddressScene,
) -> None:
    scene, topology = across_zones, across_zones.topology
    scene.sim.set_status(scene.primary, instance="impaired")
    # More throttling than botocore's own attempts: the mover must try again itself.
    scene.sim.fail("ReplaceRoute", "RequestLimitExceeded", times=TEST_TUNING.api_max_attempts + 1)

    delivery = scene.deliver(scene.alarm())

    assert delivery.error is None
    assert set(scene.route_targets().values()) == {topology.standby_interface_id}
    [told] = scene.notifications()
    assert outcome_of(told) == "swapped"


def test_failback_brings_every_address_back_to_the_primary(across_zones: AddressScene) -> None:
    scene, topology = across_zones, across_zones.topology
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.deliver(scene.alarm())
    scene.notifications()
    # Given the primary is healthy again
    scene.sim.set_status(scene.primary, instance="ok")

    # When an operator fails back
    answer = scene.deployment.invoke(
        {"action": "failback", "pair": "edge", "requested_by": "ops@example.com"}
    )

    [failback] = answer["outcomes"]
    assert (failback["outcome"], failback["direction"]) == ("swapped", "failback")
    assert set(scene.route_targets().values()) == {topology.primary_interface_id}
    assert scene.eip_interfaces() == [topology.primary_interface_id]


def test_fence_stops_the_impaired_primary_only_once_every_address_is_on_the_standby(
    sim: FaithfulEC2, ec2: EC2Client, clients: AwsClients, stack_template: dict[str, Any]
) -> None:
    topology = build_address_pair(ec2, name="edge")
    scene = make_scene(sim, ec2, clients, stack_template, topology, fence=FenceMode.STOP)
    scene.sim.set_status(scene.primary, instance="impaired")

    scene.deliver(scene.alarm())

    assert set(scene.route_targets().values()) == {topology.standby_interface_id}
    [told] = scene.notifications()
    assert facts(told)["fence"]["done"] is True
    assert instance_state(scene.ec2, scene.primary) == "stopped"
    assert instance_state(scene.ec2, scene.standby) == "running"


def test_no_fence_when_an_address_did_not_arrive(
    sim: FaithfulEC2, ec2: EC2Client, clients: AwsClients, stack_template: dict[str, Any]
) -> None:
    topology = build_address_pair(ec2, name="edge")
    scene = make_scene(sim, ec2, clients, stack_template, topology, fence=FenceMode.STOP)
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.sim.fail("AssociateAddress", "InvalidParameterValue", times=1)

    scene.deliver(scene.alarm())

    assert instance_state(scene.ec2, scene.primary) == "running"
    [told] = scene.notifications()
    assert outcome_of(told) == "failed"


def test_a_deleted_route_table_and_a_released_elastic_ip_are_refused_by_name(
    across_zones: AddressScene,
) -> None:
    scene, topology = across_zones, across_zones.topology
    gone_table = topology.route_table_ids[1]
    scene.ec2.delete_route_table(RouteTableId=gone_table)
    scene.ec2.disassociate_address(
        AssociationId=scene.ec2.describe_addresses(AllocationIds=list(topology.allocation_ids))[
            "Addresses"
        ][0]["AssociationId"]
    )
    scene.ec2.release_address(AllocationId=topology.allocation_ids[0])
    scene.sim.set_status(scene.primary, instance="impaired")

    scene.deliver(scene.alarm())

    assert scene.calls == Counter()
    [told] = scene.notifications()
    assert outcome_of(told) == "refused"
    said = " ".join(facts(told)["reasons"])
    assert (
        f"route {gone_table} {topology.route_cidrs[0]} does not exist (no such route table)" in said
    )
    assert f"elastic-ip {topology.allocation_ids[0]} does not exist" in said


@pytest.mark.parametrize("sim", [{"route_polls": 3, "address_polls": 3}], indirect=True)
def test_the_move_is_told_only_once_ec2_shows_every_address_on_the_standby(
    across_zones: AddressScene,
) -> None:
    scene, topology = across_zones, across_zones.topology
    # Given EC2 shows a replaced route and a reassociated address only after three describes
    scene.sim.set_status(scene.primary, instance="impaired")

    scene.deliver(scene.alarm())

    # Then when the operators are told, EC2 already shows the standby, without settling
    [told] = scene.notifications()
    assert outcome_of(told) == "swapped"
    tables = scene.ec2.describe_route_tables(RouteTableIds=list(topology.route_table_ids))
    assert {
        r.get("NetworkInterfaceId")
        for t in tables["RouteTables"]
        for r in t["Routes"]
        if r.get("DestinationCidrBlock") in topology.route_cidrs
    } == {topology.standby_interface_id}
    [address] = scene.ec2.describe_addresses(AllocationIds=list(topology.allocation_ids))[
        "Addresses"
    ]
    assert address["NetworkInterfaceId"] == topology.standby_interface_id
    steps = [s["step"] for s in facts(told)["steps"]]
    assert steps.index("verified") > steps.index("move requested")


def test_a_secondary_ip_the_terminated_primary_let_go_of_goes_to_the_standby(
    same_subnet: AddressScene,
) -> None:
    scene, topology = same_subnet, same_subnet.topology
    # Given the primary terminated: its own interface, and the addresses on it, are gone
    scene.ec2.terminate_instances(InstanceIds=[scene.primary])
    scene.sim.settle()

    scene.deliver(scene.alarm())

    assert scene.ips_on(topology.standby_interface_id) == set(topology.private_ips)
    [told] = scene.notifications()
    assert outcome_of(told) == "swapped"


def test_a_secondary_ip_held_by_an_interface_outside_the_pair_is_refused(
    same_subnet: AddressScene,
) -> None:
    scene, topology = same_subnet, same_subnet.topology
    # Given someone moved one of the pair's addresses to an interface of their own
    stranger = scene.ec2.create_network_interface(SubnetId=topology.subnet_id)["NetworkInterface"][
        "NetworkInterfaceId"
    ]
    taken = topology.private_ips[0]
    scene.ec2.assign_private_ip_addresses(
        NetworkInterfaceId=stranger, PrivateIpAddresses=[taken], AllowReassignment=True
    )
    scene.sim.settle()
    scene.calls.clear()
    scene.sim.set_status(scene.primary, instance="impaired")

    scene.deliver(scene.alarm())

    assert scene.calls == Counter()
    assert scene.ips_on(stranger) == {taken}
    [told] = scene.notifications()
    assert outcome_of(told) == "refused"
    assert f"private-ip {taken} is on {stranger}" in " ".join(facts(told)["reasons"])
