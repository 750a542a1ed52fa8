"""A whole failover against the simulator, step by step, in-process and over HTTP.

It strings together what the other tests pin one at a time: a failed status check, a
detach that hangs until forced, bounded polling on the manual clock, the attach latency
and the Elastic IP following the interface.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from eni_failover_ec2sim import ManualClock, build_pair
from tests.sim.conftest import StartSim
from tests.sim.views import attachment_status, interface

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

POLL_SECONDS = 0.25


def poll_until(clock: ManualClock, seconds: float, done: Callable[[], bool]) -> bool:
    """Bounded polling on the manual clock, the way the failover waits."""
    deadline = clock() + seconds
    while not done():
        if clock() >= deadline:
            return False
        clock.sleep(POLL_SECONDS)
    return True


def test_failover_from_an_impaired_primary_with_a_hung_detach(
    ec2: EC2Client, start_sim: StartSim, clock: ManualClock
) -> None:
    # Given a pair whose primary fails its system check and whose detach will hang
    sim = start_sim(attach_seconds=1.0, detach_seconds=2.0, force_detach_seconds=0.5)
    pair = build_pair(ec2, sim=sim)
    sim.set_status(pair.primary_instance_id, system="impaired")
    sim.hang_detach(pair.interface_id)

    # When the failover finds the impaired primary...
    impaired = ec2.describe_instance_status(
        InstanceIds=[pair.primary_instance_id, pair.standby_instance_id],
        Filters=[{"Name": "system-status.status", "Values": ["impaired"]}],
    )["InstanceStatuses"]
    assert [status["InstanceId"] for status in impaired] == [pair.primary_instance_id]

    # ...detaches, gives the plain detach its grace period, then forces it...
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    detached = poll_until(clock, 5.0, lambda: attachment_status(ec2, pair.interface_id) is None)
    assert not detached
    ec2.detach_network_interface(AttachmentId=pair.attachment_id, Force=True)
    assert poll_until(clock, 5.0, lambda: attachment_status(ec2, pair.interface_id) is None)

    # ...and attaches it to the standby, waiting for "attached"
    ec2.attach_network_interface(
        NetworkInterfaceId=pair.interface_id, InstanceId=pair.standby_instance_id, DeviceIndex=1
    )
    assert attachment_status(ec2, pair.interface_id) == "attaching"
    assert poll_until(clock, 5.0, lambda: attachment_status(ec2, pair.interface_id) == "attached")

    # Then the interface, its addresses and its MAC are on the standby
    floating = interface(ec2, pair.interface_id)
    assert floating["Attachment"]["InstanceId"] == pair.standby_instance_id
    assert floating["Association"]["PublicIp"] == pair.public_ip
    assert floating["MacAddress"] == pair.mac_address
    assert tuple(ip["PrivateIpAddress"] for ip in floating["PrivateIpAddresses"]) == (
        pair.private_ips
    )
    assert sim.calls["DetachNetworkInterface"] == 2
