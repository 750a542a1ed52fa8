"""The emulator's clients reach a pair's service through its addresses as the VPC routes them.

A client of an overlay IP reaches whichever instance the route points at; a client of an
Elastic IP, the instance it is associated with; a client of a secondary IP, the instance
whose interface holds it. A failover that moves the address moves the client with it,
which is what a benchmark of "the service stops answering -> answered on the standby"
needs for routes, Elastic IPs and secondary IPs (eni_failover_emulator.service.PairServices).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest

from eni_failover_ec2sim import FaithfulEC2
from eni_failover_ec2sim.topology import AddressPairTopology, build_address_pair
from eni_failover_emulator.service import PairServices

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

OVERLAY = "10.9.0.10/32"
PORT = 80


@pytest.fixture
def ec2(sim: FaithfulEC2) -> EC2Client:
    return boto3.client("ec2", region_name="us-east-1")


def _services(ec2: EC2Client, topology: AddressPairTopology) -> Iterator[PairServices]:
    services = PairServices(
        ec2,
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        route_table_ids=topology.route_table_ids,
        allocation_ids=topology.allocation_ids,
        private_ips=topology.private_ips,
    )
    try:
        yield services
    finally:
        services.close()


@pytest.fixture
def across_zones(ec2: EC2Client) -> Iterator[tuple[AddressPairTopology, PairServices]]:
    topology = build_address_pair(ec2, route_cidrs=(OVERLAY,))
    for services in _services(ec2, topology):
        yield topology, services


def test_the_overlay_ip_reaches_the_instance_the_route_points_at(
    ec2: EC2Client, sim: FaithfulEC2, across_zones: tuple[AddressPairTopology, PairServices]
) -> None:
    topology, services = across_zones
    overlay = OVERLAY.split("/", 1)[0]
    # Given the route in every table to the primary's interface
    assert services.resolve(overlay, PORT) == services.primary.address
    # When the routes point at the standby's
    for table in topology.route_table_ids:
        ec2.replace_route(
            RouteTableId=table,
            DestinationCidrBlock=OVERLAY,
            NetworkInterfaceId=topology.standby_interface_id,
        )
    sim.settle()  # the change shows (and routes traffic) once EC2 has made it consistent
    # Then a client of the overlay IP reaches the standby
    assert services.resolve(overlay, PORT) == services.standby.address


def test_the_elastic_ip_reaches_the_instance_it_is_associated_with(
    ec2: EC2Client, sim: FaithfulEC2, across_zones: tuple[AddressPairTopology, PairServices]
) -> None:
    topology, services = across_zones
    [public_ip] = topology.public_ips
    assert services.resolve(public_ip, PORT) == services.primary.address
    [standby] = ec2.describe_network_interfaces(
        NetworkInterfaceIds=[topology.standby_interface_id]
    )["NetworkInterfaces"]
    ec2.associate_address(
        AllocationId=topology.allocation_ids[0],
        NetworkInterfaceId=topology.standby_interface_id,
        PrivateIpAddress=standby["PrivateIpAddress"],
        AllowReassociation=True,
    )
    sim.settle()
    assert services.resolve(public_ip, PORT) == services.standby.address


def test_a_secondary_ip_reaches_the_instance_whose_interface_holds_it(ec2: EC2Client) -> None:
    topology = build_address_pair(
        ec2,
        standby_az="us-east-1a",
        route_tables=0,
        route_cidrs=(),
        elastic_ips=0,
        secondary_private_ips=1,
    )
    [ip] = topology.private_ips
    for services in _services(ec2, topology):
        assert services.resolve(ip, PORT) == services.primary.address
        ec2.unassign_private_ip_addresses(
            NetworkInterfaceId=topology.primary_interface_id, PrivateIpAddresses=[ip]
        )
        ec2.assign_private_ip_addresses(
            NetworkInterfaceId=topology.standby_interface_id, PrivateIpAddresses=[ip]
        )
        assert services.resolve(ip, PORT) == services.standby.address


def test_an_address_of_no_instance_of_the_pair_reaches_nothing(
    across_zones: tuple[AddressPairTopology, PairServices],
) -> None:
    _, services = across_zones
    reached = services.resolve("10.9.9.9", PORT)
    assert reached not in (services.primary.address, services.standby.address)
