"""Network cards: each card has its own device indexes (moto ignores NetworkCardIndex).

Each test runs in-process and through the HTTP server (the `transport` fixture).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from eni_failover_ec2sim import build_pair
from tests.sim.conftest import StartSim
from tests.sim.views import error_code, interface

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


def placements(ec2: EC2Client, instance_id: str) -> dict[str, tuple[int, int]]:
    """(network card, device index) of each interface, as DescribeInstances shows them."""
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return {
        nic["NetworkInterfaceId"]: (
            nic["Attachment"]["NetworkCardIndex"],
            nic["Attachment"]["DeviceIndex"],
        )
        for nic in reservations[0]["Instances"][0]["NetworkInterfaces"]
    }


def test_the_same_device_index_on_two_cards_holds_two_interfaces(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a primary with two network cards and the floating interface at device index 1
    # of card 0
    sim = start_sim()
    pair = build_pair(ec2, network_cards=2, sim=sim)
    other = ec2.create_network_interface(SubnetId=pair.subnet_id)["NetworkInterface"]

    # When another interface is attached at device index 1 of card 1
    answer = ec2.attach_network_interface(
        NetworkInterfaceId=other["NetworkInterfaceId"],
        InstanceId=pair.primary_instance_id,
        DeviceIndex=1,
        NetworkCardIndex=1,
    )

    # Then both are attached, and EC2 reports each one's card in every describe
    assert answer["NetworkCardIndex"] == 1
    found = placements(ec2, pair.primary_instance_id)
    assert found[pair.interface_id] == (0, 1)
    assert found[other["NetworkInterfaceId"]] == (1, 1)
    attached = interface(ec2, other["NetworkInterfaceId"])["Attachment"]
    assert (attached["NetworkCardIndex"], attached["DeviceIndex"]) == (1, 1)


def test_attach_at_a_device_index_used_on_that_card_is_refused(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given the floating interface at device index 1 of card 1 of the primary
    sim = start_sim()
    pair = build_pair(ec2, network_cards=2, network_card_index=1, sim=sim)
    other = ec2.create_network_interface(SubnetId=pair.subnet_id)["NetworkInterface"]

    # When another interface is attached at the same card and device index
    with pytest.raises(ClientError) as excinfo:
        ec2.attach_network_interface(
            NetworkInterfaceId=other["NetworkInterfaceId"],
            InstanceId=pair.primary_instance_id,
            DeviceIndex=1,
            NetworkCardIndex=1,
        )

    # Then EC2 refuses it (moto would have overwritten the first), naming the card
    assert error_code(excinfo) == "InvalidParameterValue"
    assert "network card '1'" in str(excinfo.value)
    assert placements(ec2, pair.primary_instance_id)[pair.interface_id] == (1, 1)


def test_attach_on_a_card_the_instance_does_not_have_is_refused(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a standby with one network card and the floating interface detached
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # When it is attached to the standby on card 1
    with pytest.raises(ClientError) as excinfo:
        ec2.attach_network_interface(
            NetworkInterfaceId=pair.interface_id,
            InstanceId=pair.standby_instance_id,
            DeviceIndex=1,
            NetworkCardIndex=1,
        )

    # Then EC2 refuses, and the interface stays available
    assert error_code(excinfo) == "InvalidParameterValue"
    assert interface(ec2, pair.interface_id)["Status"] == "available"


def test_detach_on_one_card_frees_only_that_cards_device_index(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given interfaces at device index 1 of card 0 (another) and of card 1 (the floating one)
    sim = start_sim()
    pair = build_pair(ec2, network_cards=2, network_card_index=1, sim=sim)
    other = ec2.create_network_interface(SubnetId=pair.subnet_id)["NetworkInterface"]
    other_id = other["NetworkInterfaceId"]
    ec2.attach_network_interface(
        NetworkInterfaceId=other_id, InstanceId=pair.primary_instance_id, DeviceIndex=1
    )

    # When the floating interface on card 1 is detached
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # Then card 0's interface at that device index is still attached, card 1's index is
    # free again, and card 0's is not
    found = placements(ec2, pair.primary_instance_id)
    assert pair.interface_id not in found
    assert found[other_id] == (0, 1)
    ec2.attach_network_interface(
        NetworkInterfaceId=pair.interface_id,
        InstanceId=pair.primary_instance_id,
        DeviceIndex=1,
        NetworkCardIndex=1,
    )
    assert placements(ec2, pair.primary_instance_id)[pair.interface_id] == (1, 1)
