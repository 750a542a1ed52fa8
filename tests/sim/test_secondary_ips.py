"""AssignPrivateIpAddresses as EC2 does it, which plain moto does not (see AWS-FACTS,
"Zones, routes").

moto assigns any named address to any interface: one in use elsewhere (leaving it on
both), one outside the subnet, another interface's primary address. Each test runs
in-process and through the HTTP server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from eni_failover_ec2sim import PairTopology, build_pair
from tests.sim.conftest import StartSim
from tests.sim.views import error_code, instance_interfaces, interface, primary_interface_id

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


def addresses_of(ec2: EC2Client, interface_id: str) -> set[str]:
    found = interface(ec2, interface_id)["PrivateIpAddresses"]
    return {entry["PrivateIpAddress"] for entry in found}


def service_ip_on_primary(ec2: EC2Client, pair: PairTopology) -> tuple[str, str, str]:
    """A free address of the primary's subnet (moto picks a new interface's at random)
    assigned as a secondary IP of the primary's primary interface: (the address, the
    primary's interface, the standby's interface)."""
    found = ec2.describe_network_interfaces(
        Filters=[{"Name": "subnet-id", "Values": [pair.subnet_id]}]
    )["NetworkInterfaces"]
    used = {entry["PrivateIpAddress"] for nic in found for entry in nic["PrivateIpAddresses"]}
    service_ip = next(ip for ip in (f"10.0.1.{n}" for n in range(200, 250)) if ip not in used)
    primary = primary_interface_id(ec2, pair.primary_instance_id)
    ec2.assign_private_ip_addresses(NetworkInterfaceId=primary, PrivateIpAddresses=[service_ip])
    return service_ip, primary, primary_interface_id(ec2, pair.standby_instance_id)


def test_assigning_an_address_in_use_without_reassignment_is_refused(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given the service address on the primary's interface
    sim = start_sim()
    pair = build_pair(ec2, with_eip=False, sim=sim)
    service_ip, primary, standby = service_ip_on_primary(ec2, pair)

    # When it is assigned to the standby's without AllowReassignment
    with pytest.raises(ClientError) as excinfo:
        ec2.assign_private_ip_addresses(NetworkInterfaceId=standby, PrivateIpAddresses=[service_ip])

    # Then EC2 refuses, naming the address, and it stays on the primary only
    assert error_code(excinfo) == "InvalidParameterValue"
    assert "already assigned" in str(excinfo.value)
    assert service_ip in addresses_of(ec2, primary)
    assert service_ip not in addresses_of(ec2, standby)


def test_reassignment_moves_the_address_to_the_standby(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given the service address on the primary's interface
    sim = start_sim()
    pair = build_pair(ec2, with_eip=False, sim=sim)
    service_ip, primary, standby = service_ip_on_primary(ec2, pair)

    # When it is assigned to the standby's with AllowReassignment
    ec2.assign_private_ip_addresses(
        NetworkInterfaceId=standby, PrivateIpAddresses=[service_ip], AllowReassignment=True
    )

    # Then it is on the standby's interface and no longer on the primary's (moto keeps it
    # on both), in DescribeNetworkInterfaces and in DescribeInstances alike
    assert service_ip in addresses_of(ec2, standby)
    assert service_ip not in addresses_of(ec2, primary)

    def instance_addresses(instance_id: str) -> set[str]:
        nic = instance_interfaces(ec2, instance_id)[0]
        return {entry["PrivateIpAddress"] for entry in nic["PrivateIpAddresses"]}

    assert service_ip in instance_addresses(pair.standby_instance_id)
    assert service_ip not in instance_addresses(pair.primary_instance_id)


@pytest.mark.parametrize("allow_reassignment", [False, True])
def test_an_address_outside_the_subnet_is_refused(
    ec2: EC2Client, start_sim: StartSim, allow_reassignment: bool
) -> None:
    # Given a standby in 10.0.2.0/24, in another zone than the primary
    sim = start_sim()
    pair = build_pair(ec2, az="us-east-1a", standby_az="us-east-1b", with_eip=False, sim=sim)
    service_ip, primary, standby = service_ip_on_primary(ec2, pair)

    # When the primary's address (in 10.0.1.0/24) is assigned to it
    with pytest.raises(ClientError) as excinfo:
        ec2.assign_private_ip_addresses(
            NetworkInterfaceId=standby,
            PrivateIpAddresses=[service_ip],
            AllowReassignment=allow_reassignment,
        )

    # Then EC2 refuses: a secondary IP cannot leave its subnet, so not its zone either
    assert error_code(excinfo) == "InvalidParameterValue"
    assert "subnet's address range" in str(excinfo.value)
    assert service_ip in addresses_of(ec2, primary)
    assert service_ip not in addresses_of(ec2, standby)


@pytest.mark.parametrize("reserved", ["10.0.1.0", "10.0.1.1", "10.0.1.3", "10.0.1.255"])
def test_an_address_the_subnet_reserves_is_refused(
    ec2: EC2Client, start_sim: StartSim, reserved: str
) -> None:
    # Given the primary's interface in 10.0.1.0/24
    sim = start_sim()
    pair = build_pair(ec2, with_eip=False, sim=sim)
    primary = primary_interface_id(ec2, pair.primary_instance_id)

    # When one of the addresses AWS reserves in every subnet is assigned to it
    with pytest.raises(ClientError) as excinfo:
        ec2.assign_private_ip_addresses(NetworkInterfaceId=primary, PrivateIpAddresses=[reserved])

    # Then EC2 refuses (the first four and the last are AWS's)
    assert error_code(excinfo) == "InvalidParameterValue"
    assert "reserved" in str(excinfo.value)
    assert reserved not in addresses_of(ec2, primary)


def test_a_primary_private_address_cannot_be_reassigned(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given the primary's interface and its primary private IP
    sim = start_sim()
    pair = build_pair(ec2, with_eip=False, sim=sim)
    _, primary, standby = service_ip_on_primary(ec2, pair)
    primary_ip = interface(ec2, primary)["PrivateIpAddress"]

    # When that address is assigned to the standby's, even with AllowReassignment
    with pytest.raises(ClientError) as excinfo:
        ec2.assign_private_ip_addresses(
            NetworkInterfaceId=standby, PrivateIpAddresses=[primary_ip], AllowReassignment=True
        )

    # Then EC2 refuses: an interface keeps its primary address for life
    assert error_code(excinfo) == "InvalidParameterValue"
    assert interface(ec2, primary)["PrivateIpAddress"] == primary_ip
    assert primary_ip not in addresses_of(ec2, standby)


def test_a_filter_on_addresses_finds_the_interface_holding_a_secondary_ip(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given the service address as a secondary IP of the primary's interface
    sim = start_sim()
    pair = build_pair(ec2, with_eip=False, sim=sim)
    service_ip, primary, _standby = service_ip_on_primary(ec2, pair)

    # When interfaces are described by the addresses.private-ip-address filter
    found = ec2.describe_network_interfaces(
        Filters=[{"Name": "addresses.private-ip-address", "Values": [service_ip]}],
        MaxResults=1000,
    )["NetworkInterfaces"]

    # Then EC2 names the interface that holds it (moto matched primary addresses only)
    assert [n["NetworkInterfaceId"] for n in found] == [primary]
