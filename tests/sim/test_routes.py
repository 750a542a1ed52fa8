"""ReplaceRoute as EC2 does it, which plain moto does not (see AWS-FACTS, "Zones, routes").

moto replaces a route whatever VPC the new target is in, replaces it on DryRun, shows
every route "active" and shows a change at once. A missing route moto already refuses as
EC2 does; that test pins it. Each test runs in-process and through the HTTP server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from eni_failover_ec2sim import ManualClock, PairTopology, build_pair
from tests.sim.conftest import StartSim
from tests.sim.views import error_code, primary_interface_id, route

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

OVERLAY = "192.168.100.10/32"  # an overlay IP: outside the VPC, routed to the active one
DESTINATIONS = [OVERLAY, "0.0.0.0/0", "::/0"]


def routed_pair(ec2: EC2Client, pair: PairTopology, destination: str = OVERLAY) -> str:
    """A route table of the pair's VPC whose route to `destination` targets the primary's
    primary interface; its ID."""
    table_id = ec2.create_route_table(VpcId=pair.vpc_id)["RouteTable"]["RouteTableId"]
    primary_interface = primary_interface_id(ec2, pair.primary_instance_id)
    if ":" in destination:
        ec2.create_route(
            RouteTableId=table_id,
            DestinationIpv6CidrBlock=destination,
            NetworkInterfaceId=primary_interface,
        )
    else:
        ec2.create_route(
            RouteTableId=table_id,
            DestinationCidrBlock=destination,
            NetworkInterfaceId=primary_interface,
        )
    return table_id


def replace_route(
    ec2: EC2Client, table_id: str, destination: str, interface_id: str, *, dry_run: bool = False
) -> None:
    """ReplaceRoute as the failover calls it, for an IPv4 or an IPv6 destination."""
    if ":" in destination:
        ec2.replace_route(
            RouteTableId=table_id,
            DestinationIpv6CidrBlock=destination,
            NetworkInterfaceId=interface_id,
            DryRun=dry_run,
        )
    else:
        ec2.replace_route(
            RouteTableId=table_id,
            DestinationCidrBlock=destination,
            NetworkInterfaceId=interface_id,
            DryRun=dry_run,
        )


@pytest.mark.parametrize("dry_run", [False, True])
def test_replace_of_a_route_the_table_lacks_is_refused(
    ec2: EC2Client, start_sim: StartSim, dry_run: bool
) -> None:
    # Given a table with a route to the overlay IP only
    sim = start_sim()
    pair = build_pair(ec2, az="us-east-1a", standby_az="us-east-1b", with_eip=False, sim=sim)
    table_id = routed_pair(ec2, pair)

    # When a route to another destination is replaced (or only tried, with DryRun)
    with pytest.raises(ClientError) as excinfo:
        ec2.replace_route(
            RouteTableId=table_id,
            DestinationCidrBlock="192.168.100.11/32",
            NetworkInterfaceId=primary_interface_id(ec2, pair.standby_instance_id),
            DryRun=dry_run,
        )

    # Then EC2 refuses as it does (InvalidParameterValue; DeleteRoute would say
    # InvalidRoute.NotFound), telling the caller to create the route instead
    assert error_code(excinfo) == "InvalidParameterValue"
    assert "no route defined for '192.168.100.11/32'" in str(excinfo.value)


@pytest.mark.parametrize("dry_run", [False, True])
def test_replace_with_an_interface_in_another_vpc_is_refused(
    ec2: EC2Client, start_sim: StartSim, dry_run: bool
) -> None:
    # Given a routed pair, and an instance in another VPC
    sim = start_sim()
    pair = build_pair(ec2, with_eip=False, sim=sim)
    elsewhere = build_pair(ec2, with_eip=False, name="elsewhere", sim=sim)
    table_id = routed_pair(ec2, pair)
    primary_interface = primary_interface_id(ec2, pair.primary_instance_id)

    # When the route is pointed at the other VPC's instance
    with pytest.raises(ClientError) as excinfo:
        ec2.replace_route(
            RouteTableId=table_id,
            DestinationCidrBlock=OVERLAY,
            NetworkInterfaceId=primary_interface_id(ec2, elsewhere.primary_instance_id),
            DryRun=dry_run,
        )

    # Then EC2 refuses, and the route still targets the primary
    assert error_code(excinfo) == "InvalidParameterValue"
    assert "belong to different networks" in str(excinfo.value)
    sim.settle()
    assert route(ec2, table_id, OVERLAY)["NetworkInterfaceId"] == primary_interface


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_dry_run_replace_answers_dry_run_operation_and_changes_nothing(
    ec2: EC2Client, start_sim: StartSim, destination: str
) -> None:
    # Given a route to the primary's interface, in its own zone or across zones
    sim = start_sim()
    pair = build_pair(ec2, az="us-east-1a", standby_az="us-east-1b", with_eip=False, sim=sim)
    table_id = routed_pair(ec2, pair, destination)
    primary_interface = primary_interface_id(ec2, pair.primary_instance_id)

    # When the readiness check tries the replace with DryRun
    with pytest.raises(ClientError) as excinfo:
        replace_route(
            ec2,
            table_id,
            destination,
            primary_interface_id(ec2, pair.standby_instance_id),
            dry_run=True,
        )

    # Then EC2 says it would have succeeded, and did nothing
    assert error_code(excinfo) == "DryRunOperation"
    sim.settle()
    assert route(ec2, table_id, destination)["NetworkInterfaceId"] == primary_interface


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_describe_shows_the_old_target_until_the_replace_is_consistent(
    ec2: EC2Client, start_sim: StartSim, clock: ManualClock, destination: str
) -> None:
    # Given a route to the primary's interface and the simulator's default route delay
    sim = start_sim()
    pair = build_pair(ec2, az="us-east-1a", standby_az="us-east-1b", with_eip=False, sim=sim)
    table_id = routed_pair(ec2, pair, destination)
    primary_interface = primary_interface_id(ec2, pair.primary_instance_id)
    standby_interface = primary_interface_id(ec2, pair.standby_instance_id)

    # When the route is pointed at the standby's interface, in the other zone
    replace_route(ec2, table_id, destination, standby_interface)

    # Then the call has returned, but DescribeRouteTables shows the old target for a while
    assert route(ec2, table_id, destination)["NetworkInterfaceId"] == primary_interface
    clock.advance(0.29)
    assert route(ec2, table_id, destination)["NetworkInterfaceId"] == primary_interface

    # And then the new one, with the instance it is attached to, as EC2 shows it
    clock.advance(0.01)
    shown = route(ec2, table_id, destination)
    assert shown["NetworkInterfaceId"] == standby_interface
    assert shown["InstanceId"] == pair.standby_instance_id
    assert shown["State"] == "active"


def test_a_route_change_is_shown_after_n_describes_and_at_once_after_settle(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a delay counted in DescribeRouteTables calls, and two routed tables
    sim = start_sim(route_polls=2)
    pair = build_pair(ec2, with_eip=False, sim=sim)
    tables = [routed_pair(ec2, pair), routed_pair(ec2, pair)]
    standby_interface = primary_interface_id(ec2, pair.standby_instance_id)

    # When both routes are replaced
    for table_id in tables:
        ec2.replace_route(
            RouteTableId=table_id,
            DestinationCidrBlock=OVERLAY,
            NetworkInterfaceId=standby_interface,
        )

    # Then the first table's new target shows on its third describe
    seen = [route(ec2, tables[0], OVERLAY)["NetworkInterfaceId"] for _ in range(3)]
    assert [target == standby_interface for target in seen] == [False, False, True]

    # And settle() shows the other's at once
    sim.settle()
    assert route(ec2, tables[1], OVERLAY)["NetworkInterfaceId"] == standby_interface


@pytest.mark.parametrize("target_is", ["stopped", "detached", "deleted"])
def test_a_route_to_an_interface_that_cannot_take_traffic_is_a_blackhole(
    ec2: EC2Client, start_sim: StartSim, target_is: str
) -> None:
    # Given a route to the floating interface on the primary, which is "active"
    sim = start_sim()
    pair = build_pair(ec2, with_eip=False, sim=sim)
    table_id = ec2.create_route_table(VpcId=pair.vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=table_id, DestinationCidrBlock=OVERLAY, NetworkInterfaceId=pair.interface_id
    )
    assert route(ec2, table_id, OVERLAY)["State"] == "active"

    # When its instance stops, or the interface is detached, or deleted
    if target_is == "stopped":
        ec2.stop_instances(InstanceIds=[pair.primary_instance_id])
    else:
        ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    sim.settle()
    if target_is == "deleted":
        ec2.delete_network_interface(NetworkInterfaceId=pair.interface_id)

    # Then the route is a blackhole, still naming the interface
    shown = route(ec2, table_id, OVERLAY)
    assert shown["State"] == "blackhole"
    assert shown["NetworkInterfaceId"] == pair.interface_id

    # And once the instance runs again (for the stopped one) it is active again
    if target_is == "stopped":
        ec2.start_instances(InstanceIds=[pair.primary_instance_id])
        assert route(ec2, table_id, OVERLAY)["State"] == "active"


def test_the_standby_interface_forwards_once_its_source_dest_check_is_off(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given the standby's primary interface, which EC2 creates checking source/destination
    sim = start_sim()
    pair = build_pair(ec2, with_eip=False, sim=sim)
    standby_interface = primary_interface_id(ec2, pair.standby_instance_id)

    def source_dest_check() -> bool:
        answer = ec2.describe_network_interface_attribute(
            NetworkInterfaceId=standby_interface, Attribute="sourceDestCheck"
        )
        return bool(answer["SourceDestCheck"]["Value"])

    assert source_dest_check() is True

    # When it is turned off, as a route's target must have it (moto supports this as EC2)
    with pytest.raises(ClientError) as excinfo:
        ec2.modify_network_interface_attribute(
            NetworkInterfaceId=standby_interface, SourceDestCheck={"Value": False}, DryRun=True
        )
    assert error_code(excinfo) == "DryRunOperation"
    assert source_dest_check() is True
    ec2.modify_network_interface_attribute(
        NetworkInterfaceId=standby_interface, SourceDestCheck={"Value": False}
    )

    # Then both describes show it off
    assert source_dest_check() is False
    described = ec2.describe_network_interfaces(NetworkInterfaceIds=[standby_interface])
    assert described["NetworkInterfaces"][0]["SourceDestCheck"] is False
