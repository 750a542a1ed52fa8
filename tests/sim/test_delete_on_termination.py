"""DeleteOnTermination: per attachment, reported, changeable, and it deletes the interface.

moto keeps the flag on the interface from its creation and drops ModifyNetworkInterface-
Attribute's Attachment; EC2 keeps it per attachment. Each test runs in-process and
through the HTTP server (the `transport` fixture).
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


def delete_on_termination(ec2: EC2Client, interface_id: str) -> bool:
    return bool(interface(ec2, interface_id)["Attachment"]["DeleteOnTermination"])


def test_the_flag_is_reported_and_set_per_attachment(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given the floating interface attached to the primary (false, as AttachNetworkInterface
    # makes every attachment)
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    assert delete_on_termination(ec2, pair.interface_id) is False

    # When its attachment is set to delete on termination
    ec2.modify_network_interface_attribute(
        NetworkInterfaceId=pair.interface_id,
        Attachment={"AttachmentId": pair.attachment_id, "DeleteOnTermination": True},
    )

    # Then DescribeNetworkInterfaces reports it, and a new attachment starts false again
    assert delete_on_termination(ec2, pair.interface_id) is True
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    ec2.attach_network_interface(
        NetworkInterfaceId=pair.interface_id, InstanceId=pair.standby_instance_id, DeviceIndex=1
    )
    assert delete_on_termination(ec2, pair.interface_id) is False


def test_clearing_the_flag_needs_the_interfaces_own_attachment(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given the floating interface, set to delete on termination
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    ec2.modify_network_interface_attribute(
        NetworkInterfaceId=pair.interface_id,
        Attachment={"AttachmentId": pair.attachment_id, "DeleteOnTermination": True},
    )

    # When the flag is cleared naming another attachment, then with DryRun
    with pytest.raises(ClientError) as wrong:
        ec2.modify_network_interface_attribute(
            NetworkInterfaceId=pair.interface_id,
            Attachment={
                "AttachmentId": "eni-attach-0123456789abcdef0",
                "DeleteOnTermination": False,
            },
        )
    with pytest.raises(ClientError) as dry:
        ec2.modify_network_interface_attribute(
            NetworkInterfaceId=pair.interface_id,
            Attachment={"AttachmentId": pair.attachment_id, "DeleteOnTermination": False},
            DryRun=True,
        )

    # Then neither changes it
    assert error_code(wrong) == "InvalidAttachmentID.NotFound"
    assert error_code(dry) == "DryRunOperation"
    assert delete_on_termination(ec2, pair.interface_id) is True


def test_terminating_the_primary_deletes_a_delete_on_termination_interface(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given the floating interface on the primary, set to delete on termination
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    ec2.modify_network_interface_attribute(
        NetworkInterfaceId=pair.interface_id,
        Attachment={"AttachmentId": pair.attachment_id, "DeleteOnTermination": True},
    )

    # When the primary is terminated
    ec2.terminate_instances(InstanceIds=[pair.primary_instance_id])

    # Then the interface is gone with it: nothing is left for a failover to move
    with pytest.raises(ClientError) as excinfo:
        interface(ec2, pair.interface_id)
    assert error_code(excinfo) == "InvalidNetworkInterfaceID.NotFound"
