"""How the tests read EC2 state: through the API, the way the failover does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


def interface(ec2: EC2Client, interface_id: str) -> dict[str, Any]:
    found = ec2.describe_network_interfaces(NetworkInterfaceIds=[interface_id])
    return dict(found["NetworkInterfaces"][0])


def attachment_status(ec2: EC2Client, interface_id: str) -> str | None:
    attachment = interface(ec2, interface_id).get("Attachment")
    return None if attachment is None else str(attachment["Status"])


def instance_interfaces(ec2: EC2Client, instance_id: str) -> dict[int, dict[str, Any]]:
    """The instance's interfaces by device index, as DescribeInstances shows them."""
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    nics = reservations[0]["Instances"][0].get("NetworkInterfaces", [])
    return {nic["Attachment"]["DeviceIndex"]: dict(nic) for nic in nics}


def instance_state(ec2: EC2Client, instance_id: str) -> str:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return str(reservations[0]["Instances"][0]["State"]["Name"])


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def primary_interface_id(ec2: EC2Client, instance_id: str) -> str:
    """The instance's primary interface (device index 0), which routes and EIPs target."""
    return str(instance_interfaces(ec2, instance_id)[0]["NetworkInterfaceId"])


def route(ec2: EC2Client, route_table_id: str, destination: str) -> dict[str, Any]:
    """The table's route to an IPv4 or IPv6 destination, as DescribeRouteTables shows it."""
    tables = ec2.describe_route_tables(RouteTableIds=[route_table_id])["RouteTables"]
    for found in tables[0]["Routes"]:
        if destination in (
            found.get("DestinationCidrBlock"),
            found.get("DestinationIpv6CidrBlock"),
        ):
            return dict(found)
    raise AssertionError(f"no route to {destination} in {route_table_id}")


def address(ec2: EC2Client, allocation_id: str) -> dict[str, Any]:
    """The Elastic IP as DescribeAddresses shows it."""
    (found,) = ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"]
    return dict(found)
