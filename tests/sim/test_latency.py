"""The time EC2 takes: attaching, detaching, hung detaches, stopping (moto is instant).

The clock is a ManualClock, so "five seconds later" costs nothing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from eni_failover_ec2sim import ManualClock, build_pair
from tests.sim.conftest import IN_PROCESS, StartSim
from tests.sim.views import (
    attachment_status,
    error_code,
    instance_interfaces,
    instance_state,
    interface,
)

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

# Time and status are decided in the simulator, the same for both transports; the
# scenario test drives them through the server too.
pytestmark = pytest.mark.parametrize("transport", [IN_PROCESS], indirect=True)


def test_attach_passes_through_attaching_for_the_attach_latency(
    ec2: EC2Client, start_sim: StartSim, clock: ManualClock
) -> None:
    # Given a detached floating interface and a 2 s attach latency
    sim = start_sim(attach_seconds=2.0)
    pair = build_pair(ec2, sim=sim)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # When it is attached to the standby
    attachment_id = ec2.attach_network_interface(
        NetworkInterfaceId=pair.interface_id, InstanceId=pair.standby_instance_id, DeviceIndex=1
    )["AttachmentId"]

    # Then both describe calls show it attaching until the latency has passed
    clock.advance(1.9)
    attaching = interface(ec2, pair.interface_id)
    assert (attaching["Status"], attaching["Attachment"]["Status"]) == ("attaching", "attaching")
    on_standby = instance_interfaces(ec2, pair.standby_instance_id)[1]
    assert on_standby["Attachment"]["Status"] == "attaching"
    clock.advance(0.1)
    attached = interface(ec2, pair.interface_id)
    assert (attached["Status"], attached["Attachment"]["Status"]) == ("in-use", "attached")
    assert attached["Attachment"]["AttachmentId"] == attachment_id
    on_standby = instance_interfaces(ec2, pair.standby_instance_id)[1]
    assert on_standby["Attachment"]["Status"] == "attached"


def test_detach_passes_through_detaching_with_a_stable_attachment_id(
    ec2: EC2Client, start_sim: StartSim, clock: ManualClock
) -> None:
    # Given the floating interface on the primary and a 3 s detach latency
    sim = start_sim(detach_seconds=3.0)
    pair = build_pair(ec2, sim=sim)

    # When it is detached
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # Then it is "detaching", still on the primary under the same attachment ID...
    clock.advance(2.9)
    detaching = interface(ec2, pair.interface_id)
    assert detaching["Status"] == "detaching"
    assert detaching["Attachment"]["Status"] == "detaching"
    assert detaching["Attachment"]["AttachmentId"] == pair.attachment_id
    assert detaching["Attachment"]["InstanceId"] == pair.primary_instance_id
    assert instance_interfaces(ec2, pair.primary_instance_id)[1]["Attachment"]["Status"] == (
        "detaching"
    )
    # ...and then available, with no attachment, gone from the primary
    clock.advance(0.1)
    detached = interface(ec2, pair.interface_id)
    assert detached["Status"] == "available"
    assert "Attachment" not in detached
    assert 1 not in instance_interfaces(ec2, pair.primary_instance_id)


def test_delays_can_be_counted_in_describe_polls(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given latencies of two describe polls each
    sim = start_sim(attach_polls=2, detach_polls=2)
    pair = build_pair(ec2, sim=sim)

    # When the interface is detached and polled
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    detach_polls = [attachment_status(ec2, pair.interface_id) for _ in range(3)]
    ec2.attach_network_interface(
        NetworkInterfaceId=pair.interface_id, InstanceId=pair.standby_instance_id, DeviceIndex=1
    )
    attach_polls = [attachment_status(ec2, pair.interface_id) for _ in range(3)]

    # Then exactly two polls see each change in progress, whatever the time
    assert detach_polls == ["detaching", "detaching", None]
    assert attach_polls == ["attaching", "attaching", "attached"]


def test_a_describe_of_other_interfaces_is_not_a_poll_of_this_one(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given the floating interface detaching with a one-poll latency
    sim = start_sim(detach_polls=1)
    pair = build_pair(ec2, sim=sim)
    primary_nic = instance_interfaces(ec2, pair.primary_instance_id)[0]["NetworkInterfaceId"]
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # When only another interface (the primary's own) is described, twice
    for _ in range(2):
        ec2.describe_network_interfaces(NetworkInterfaceIds=[primary_nic])

    # Then those were not polls of the floating interface: its own first poll still sees it
    polls = [attachment_status(ec2, pair.interface_id) for _ in range(2)]
    assert polls == ["detaching", None]


def test_a_hung_detach_completes_only_after_force(
    ec2: EC2Client, start_sim: StartSim, clock: ManualClock
) -> None:
    # Given a detach that hangs, as on an unhealthy instance
    sim = start_sim(detach_seconds=1.0, force_detach_seconds=0.5)
    pair = build_pair(ec2, sim=sim)
    sim.hang_detach(pair.interface_id)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # When much longer than the detach latency passes, and plain detaches are retried
    clock.advance(600)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # Then it is still detaching
    assert attachment_status(ec2, pair.interface_id) == "detaching"

    # When it is detached with Force (twice: a retried Force must not restart the clock)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id, Force=True)
    clock.advance(0.4)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id, Force=True)
    assert attachment_status(ec2, pair.interface_id) == "detaching"

    # Then it completes after the force latency
    clock.advance(0.1)
    assert interface(ec2, pair.interface_id)["Status"] == "available"


def test_a_detach_can_hang_even_past_force(
    ec2: EC2Client, start_sim: StartSim, clock: ManualClock
) -> None:
    # Given a detach that never completes
    sim = start_sim(force_detach_seconds=0.5)
    pair = build_pair(ec2, sim=sim)
    sim.hang_detach(pair.interface_id, forever=True)

    # When it is detached, then forced, and an hour passes
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id, Force=True)
    clock.advance(3600)

    # Then it is still detaching from the primary: the caller has to give up
    stuck = interface(ec2, pair.interface_id)
    assert stuck["Attachment"]["Status"] == "detaching"
    assert stuck["Attachment"]["InstanceId"] == pair.primary_instance_id


def test_hang_applies_to_a_detach_already_in_progress(
    ec2: EC2Client, start_sim: StartSim, clock: ManualClock
) -> None:
    # Given a detach under way with a 1 s latency
    sim = start_sim(detach_seconds=1.0)
    pair = build_pair(ec2, sim=sim)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # When it is made to hang midway
    sim.hang_detach(pair.interface_id)
    clock.advance(10)

    # Then it does not complete
    assert attachment_status(ec2, pair.interface_id) == "detaching"


def test_forced_detach_can_block_the_device_index_until_the_instance_stops(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a forced detach from the primary, with the documented after-effect switched on
    sim = start_sim(force_detach_blocks_device_index=True)
    pair = build_pair(ec2, sim=sim)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id, Force=True)

    # When the interface is attached back to the primary at the same index
    with pytest.raises(ClientError) as excinfo:
        ec2.attach_network_interface(
            NetworkInterfaceId=pair.interface_id,
            InstanceId=pair.primary_instance_id,
            DeviceIndex=1,
        )

    # Then EC2 refuses until the primary has been stopped
    assert error_code(excinfo) == "InvalidParameterValue"
    ec2.stop_instances(InstanceIds=[pair.primary_instance_id])
    ec2.attach_network_interface(
        NetworkInterfaceId=pair.interface_id, InstanceId=pair.primary_instance_id, DeviceIndex=1
    )


def test_stop_passes_through_stopping(
    ec2: EC2Client, start_sim: StartSim, clock: ManualClock
) -> None:
    # Given a 5 s stop latency
    sim = start_sim(stop_seconds=5.0)
    pair = build_pair(ec2, sim=sim)

    # When the standby is stopped
    ec2.stop_instances(InstanceIds=[pair.standby_instance_id])

    # Then it is "stopping" and cannot be started, then "stopped"
    assert instance_state(ec2, pair.standby_instance_id) == "stopping"
    with pytest.raises(ClientError) as excinfo:
        ec2.start_instances(InstanceIds=[pair.standby_instance_id])
    assert error_code(excinfo) == "IncorrectInstanceState"
    clock.advance(5.0)
    assert instance_state(ec2, pair.standby_instance_id) == "stopped"


def test_stopping_the_instance_releases_a_detach_hung_until_forced(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a hung detach from the primary
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    sim.hang_detach(pair.interface_id)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # When the primary is stopped
    ec2.stop_instances(InstanceIds=[pair.primary_instance_id])

    # Then the interface is free
    assert interface(ec2, pair.interface_id)["Status"] == "available"


def test_latency_runs_on_the_wall_clock_by_default(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given a real 0.2 s attach latency on time.monotonic
    sim = start_sim(attach_seconds=0.2, clock=time.monotonic)
    pair = build_pair(ec2, sim=sim)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # When the interface is attached and polled with a deadline
    started = time.monotonic()
    ec2.attach_network_interface(
        NetworkInterfaceId=pair.interface_id, InstanceId=pair.standby_instance_id, DeviceIndex=1
    )
    seen = [attachment_status(ec2, pair.interface_id)]
    while seen[-1] != "attached" and time.monotonic() - started < 5:
        time.sleep(0.02)
        seen.append(attachment_status(ec2, pair.interface_id))

    # Then it was attaching first and attached after about the latency
    assert seen[0] == "attaching"
    assert seen[-1] == "attached"
    assert time.monotonic() - started >= 0.2
