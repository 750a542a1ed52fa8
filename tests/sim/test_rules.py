"""EC2's attach/detach rules, which plain moto does not enforce (see AWS-FACTS, moto 5.2).

Each test runs in-process and through the HTTP server (the `transport` fixture).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from eni_failover_ec2sim import build_pair
from tests.sim.conftest import StartSim
from tests.sim.views import error_code, instance_interfaces, interface

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


def test_attach_of_an_attached_interface_is_refused_as_in_use(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given the floating interface attached to the primary
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)

    # When it is attached to the standby without detaching it first
    with pytest.raises(ClientError) as excinfo:
        ec2.attach_network_interface(
            NetworkInterfaceId=pair.interface_id,
            InstanceId=pair.standby_instance_id,
            DeviceIndex=1,
        )

    # Then EC2 refuses, and the interface stays on the primary
    assert error_code(excinfo) == "InvalidNetworkInterface.InUse"
    assert interface(ec2, pair.interface_id)["Attachment"]["InstanceId"] == (
        pair.primary_instance_id
    )


@pytest.mark.parametrize("phase", ["attaching", "detaching"])
def test_attach_of_an_interface_in_flight_is_refused_as_in_use(
    ec2: EC2Client, start_sim: StartSim, phase: str
) -> None:
    # Given the floating interface still attaching to, or detaching from, the primary
    sim = start_sim(attach_seconds=5.0, detach_seconds=5.0)
    pair = build_pair(ec2, sim=sim)
    if phase == "attaching":
        ec2.detach_network_interface(AttachmentId=pair.attachment_id)
        sim.settle()
        ec2.attach_network_interface(
            NetworkInterfaceId=pair.interface_id, InstanceId=pair.primary_instance_id, DeviceIndex=1
        )
    else:
        ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    assert interface(ec2, pair.interface_id)["Attachment"]["Status"] == phase

    # When it is attached to the standby
    with pytest.raises(ClientError) as excinfo:
        ec2.attach_network_interface(
            NetworkInterfaceId=pair.interface_id,
            InstanceId=pair.standby_instance_id,
            DeviceIndex=1,
        )

    # Then EC2 refuses: an interface in flight is in use
    assert error_code(excinfo) == "InvalidNetworkInterface.InUse"


def test_attach_to_an_instance_in_another_availability_zone_is_refused(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a standby in us-east-1b and the interface, detached, in a us-east-1a subnet
    sim = start_sim()
    pair = build_pair(ec2, az="us-east-1a", standby_az="us-east-1b", sim=sim)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # When it is attached to the standby
    with pytest.raises(ClientError) as excinfo:
        ec2.attach_network_interface(
            NetworkInterfaceId=pair.interface_id,
            InstanceId=pair.standby_instance_id,
            DeviceIndex=1,
        )

    # Then EC2 refuses, naming the availability zone, and the interface stays available
    assert error_code(excinfo) == "InvalidParameterCombination"
    assert "availability zone" in str(excinfo.value)
    assert interface(ec2, pair.interface_id)["Status"] == "available"


@pytest.mark.parametrize("occupant_phase", ["attached", "detaching"])
def test_attach_at_a_device_index_in_use_is_refused(
    ec2: EC2Client, start_sim: StartSim, occupant_phase: str
) -> None:
    # Given the floating interface detached, and the standby holding another interface
    # at device index 1 (attached, or still detaching: it keeps the index until it is gone)
    sim = start_sim(detach_seconds=5.0)
    pair = build_pair(ec2, sim=sim)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    sim.settle()
    occupant_id = ec2.create_network_interface(SubnetId=pair.subnet_id)["NetworkInterface"][
        "NetworkInterfaceId"
    ]
    occupant_attachment = ec2.attach_network_interface(
        NetworkInterfaceId=occupant_id, InstanceId=pair.standby_instance_id, DeviceIndex=1
    )["AttachmentId"]
    if occupant_phase == "detaching":
        ec2.detach_network_interface(AttachmentId=occupant_attachment)

    # When the floating interface is attached to the standby at device index 1
    with pytest.raises(ClientError) as excinfo:
        ec2.attach_network_interface(
            NetworkInterfaceId=pair.interface_id,
            InstanceId=pair.standby_instance_id,
            DeviceIndex=1,
        )

    # Then EC2 refuses, and the occupant keeps the index (moto would overwrite it)
    assert error_code(excinfo) == "InvalidParameterValue"
    occupant = instance_interfaces(ec2, pair.standby_instance_id)[1]
    assert occupant["NetworkInterfaceId"] == occupant_id
    assert occupant["Attachment"]["Status"] == occupant_phase


def test_primary_interface_cannot_be_detached(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given the primary instance with its own interface at index 0 and the floating one
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    primary_nic = instance_interfaces(ec2, pair.primary_instance_id)[0]

    # When its device index 0 interface is detached
    with pytest.raises(ClientError) as excinfo:
        ec2.detach_network_interface(AttachmentId=primary_nic["Attachment"]["AttachmentId"])

    # Then EC2 refuses (moto allows it while another interface is attached)
    assert error_code(excinfo) == "OperationNotPermitted"
    assert instance_interfaces(ec2, pair.primary_instance_id)[0]["Attachment"]["Status"] == (
        "attached"
    )


def test_attach_to_a_stopped_instance_is_allowed(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given the floating interface detached and the standby stopped
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    ec2.stop_instances(InstanceIds=[pair.standby_instance_id])

    # When it is attached to the stopped standby (a warm attach)
    ec2.attach_network_interface(
        NetworkInterfaceId=pair.interface_id, InstanceId=pair.standby_instance_id, DeviceIndex=1
    )

    # Then EC2 accepts it
    assert interface(ec2, pair.interface_id)["Attachment"]["InstanceId"] == (
        pair.standby_instance_id
    )


def test_attach_to_a_terminated_instance_is_refused(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given the floating interface detached and the standby terminated
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    ec2.terminate_instances(InstanceIds=[pair.standby_instance_id])

    # When it is attached to the terminated standby
    with pytest.raises(ClientError) as excinfo:
        ec2.attach_network_interface(
            NetworkInterfaceId=pair.interface_id,
            InstanceId=pair.standby_instance_id,
            DeviceIndex=1,
        )

    # Then EC2 refuses
    assert error_code(excinfo) == "IncorrectInstanceState"


def test_terminating_the_primary_leaves_the_floating_interface_available(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given the floating interface (delete-on-termination false) on the primary
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    assert interface(ec2, pair.interface_id)["Attachment"]["DeleteOnTermination"] is False

    # When the primary is terminated
    ec2.terminate_instances(InstanceIds=[pair.primary_instance_id])

    # Then the interface survives, detached and available (moto keeps it "in-use" on the
    # terminated instance), and can move to the standby
    floating = interface(ec2, pair.interface_id)
    assert floating["Status"] == "available"
    assert "Attachment" not in floating
    ec2.attach_network_interface(
        NetworkInterfaceId=pair.interface_id, InstanceId=pair.standby_instance_id, DeviceIndex=1
    )


def test_elastic_ip_moves_with_the_interface(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given an Elastic IP associated with the floating interface on the primary
    sim = start_sim()
    pair = build_pair(ec2, with_eip=True, sim=sim)
    assert pair.allocation_id is not None

    # When the interface moves to the standby
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    ec2.attach_network_interface(
        NetworkInterfaceId=pair.interface_id, InstanceId=pair.standby_instance_id, DeviceIndex=1
    )

    # Then the address is still the interface's, with the same MAC, and DescribeAddresses
    # names the standby as its instance (moto leaves InstanceId empty)
    floating = interface(ec2, pair.interface_id)
    assert floating["Association"]["PublicIp"] == pair.public_ip
    assert floating["Association"]["AllocationId"] == pair.allocation_id
    assert floating["MacAddress"] == pair.mac_address
    (address,) = ec2.describe_addresses(AllocationIds=[pair.allocation_id])["Addresses"]
    assert address["NetworkInterfaceId"] == pair.interface_id
    assert address["InstanceId"] == pair.standby_instance_id
    by_instance = ec2.describe_addresses(
        Filters=[{"Name": "instance-id", "Values": [pair.standby_instance_id]}]
    )["Addresses"]
    assert [a["AllocationId"] for a in by_instance] == [pair.allocation_id]
