"""Routes: in a route table, the route to a destination points at the serving instance.

The failover replaces the route's target with the target instance's primary interface
(ReplaceRoute, NetworkInterfaceId). A route table belongs to a VPC, not a zone, so a route
crosses zones: a NAT's 0.0.0.0/0, or an overlay IP's /32 that the instance carries on its
loopback (Pacemaker's aws-vpc-move-ip). The interface must have source/destination checking
off, or EC2 drops what the route forwards to it (the readiness check says so).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eni_failover import ec2
from eni_failover.config import Pair
from eni_failover.ec2 import DryRunAnswer
from eni_failover.observed import AddressView, InstanceView, interface_owners

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

NAME = "route"
LABEL = "routes (routeTableIds x routeCidrs)"
CROSSES_ZONES = True
TABLE_NOT_FOUND = "InvalidRouteTableID.NotFound"
# Route tables named in one DescribeRouteTables.
TABLE_IDS = 100
# The keys of a route's target other than an interface, for saying what it points at.
_OTHER_TARGETS = (
    "GatewayId",
    "NatGatewayId",
    "TransitGatewayId",
    "VpcPeeringConnectionId",
    "LocalGatewayId",
    "CarrierGatewayId",
    "EgressOnlyInternetGatewayId",
    "CoreNetworkArn",
)


def listed(pair: Pair) -> tuple[str, ...]:
    return tuple(f"{table} {cidr}" for table, cidr in pair.routes)


def _split(address: AddressView) -> tuple[str, str]:
    table, cidr = address.address.split(" ", 1)
    return table, cidr


def _destination(cidr: str) -> dict[str, Any]:
    """The route's destination parameter: EC2 keeps IPv4 and IPv6 routes apart."""
    if ipaddress.ip_network(cidr).version == 6:
        return {"DestinationIpv6CidrBlock": cidr}
    return {"DestinationCidrBlock": cidr}


def read(
    client: EC2Client, pairs: Sequence[Pair], instances: Mapping[str, InstanceView]
) -> dict[str, AddressView]:
    """Each listed route as DescribeRouteTables shows it: one call for all the tables."""

    def by_id(some: list[str]) -> list[Any]:
        response = ec2.call(
            "DescribeRouteTables", lambda: client.describe_route_tables(RouteTableIds=some)
        )
        return list(response.get("RouteTables", []))

    tables = ec2.found_by_id(
        (t for p in pairs for t in p.route_table_ids),
        by_id,
        key="RouteTableId",
        missing=TABLE_NOT_FOUND,
        per_call=TABLE_IDS,
    )
    owner = interface_owners(instances.values())
    found = {}
    for pair in pairs:
        for table_id, cidr in pair.routes:
            view = _route_view(table_id, cidr, tables.get(table_id), owner)
            found[view.key] = view
    return found


def _route_view(table_id: str, cidr: str, table: Any, owner: Mapping[str, str]) -> AddressView:
    address = f"{table_id} {cidr}"
    if table is None:
        return AddressView(NAME, address, exists=False, detail="no such route table")
    route = next(
        (
            r
            for r in table.get("Routes", [])
            if cidr in (r.get("DestinationCidrBlock"), r.get("DestinationIpv6CidrBlock"))
        ),
        None,
    )
    vpc = table.get("VpcId")
    if route is None:
        return AddressView(
            NAME, address, exists=False, vpc_id=vpc, detail=f"{table_id} has no route to {cidr}"
        )
    interface = route.get("NetworkInterfaceId")
    other = next((route[k] for k in _OTHER_TARGETS if route.get(k)), None)
    return AddressView(
        NAME,
        address,
        exists=True,
        interface_id=interface,
        instance_id=owner.get(interface or "") or route.get("InstanceId"),
        state=route.get("State"),
        vpc_id=vpc,
        detail=f"targets {other}" if other and not interface else None,
    )


def problems(address: AddressView, target: InstanceView) -> list[str]:
    """A route may point only at an interface in its own table's VPC."""
    if address.vpc_id and target.vpc_id and address.vpc_id != target.vpc_id:
        table, _ = _split(address)
        return [
            f"route table {table} is in {address.vpc_id} but {target.instance_id} is in "
            f"{target.vpc_id}; a route can point only at an interface in its own VPC"
        ]
    return []


def move(client: EC2Client, address: AddressView, target: InstanceView) -> None:
    table, cidr = _split(address)
    interface = _interface_of(target)
    ec2.call(
        "ReplaceRoute",
        lambda: client.replace_route(
            RouteTableId=table, NetworkInterfaceId=interface, **_destination(cidr)
        ),
    )


def dry_run(client: EC2Client, address: AddressView, target: InstanceView) -> DryRunAnswer:
    table, cidr = _split(address)
    interface = _interface_of(target)
    return ec2.dry_run(
        "ReplaceRoute",
        lambda: client.replace_route(
            RouteTableId=table, NetworkInterfaceId=interface, DryRun=True, **_destination(cidr)
        ),
    )


def _interface_of(target: InstanceView) -> str:
    # decide never plans a move to an instance without one (an invariant, not a check).
    interface = target.primary_interface_id
    if interface is None:
        raise ValueError(f"{target.instance_id} has no primary interface to point at")
    return interface
