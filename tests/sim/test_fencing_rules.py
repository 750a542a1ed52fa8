"""What fencing and failback rely on, as EC2 documents it (moto does none of it).

- StopInstances: a stop first attempts a graceful OS shutdown unless SkipOsShutdown.
- A start gives the instance a new LaunchTime: the evidence that it was stopped and started.
- ModifyNetworkInterfaceAttribute Groups replaces one interface's groups, also on an
  instance with several interfaces, where ModifyInstanceAttribute Groups is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from eni_failover_ec2sim import ManualClock, build_pair
from tests.sim.conftest import IN_PROCESS, StartSim
from tests.sim.views import error_code, instance_interfaces, instance_state

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

pytestmark = pytest.mark.parametrize("transport", [IN_PROCESS], indirect=True)


def launch_time(ec2: EC2Client, instance_id: str) -> object:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservations[0]["Instances"][0]["LaunchTime"]


def test_a_stop_waits_for_the_os_shutdown_unless_it_is_skipped(
    ec2: EC2Client, start_sim: StartSim, clock: ManualClock
) -> None:
    # Given a 1 s stop and a 30 s graceful OS shutdown before it
    sim = start_sim(stop_seconds=1.0, os_shutdown_seconds=30.0)
    pair = build_pair(ec2, sim=sim)

    # When the primary is stopped with Force, and the standby with Force and SkipOsShutdown
    ec2.stop_instances(InstanceIds=[pair.primary_instance_id], Force=True)
    ec2.stop_instances(InstanceIds=[pair.standby_instance_id], Force=True, SkipOsShutdown=True)

    # Then only the standby is stopped a second later; the primary is still shutting down
    clock.advance(1.0)
    assert instance_state(ec2, pair.standby_instance_id) == "stopped"
    assert instance_state(ec2, pair.primary_instance_id) == "stopping"
    clock.advance(30.0)
    assert instance_state(ec2, pair.primary_instance_id) == "stopped"
    # And the simulator says which stop skipped the OS shutdown
    assert sim.os_shutdown_skipped == [pair.standby_instance_id]


def test_a_start_gives_the_instance_a_new_launch_time(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given a running instance
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    before = launch_time(ec2, pair.primary_instance_id)

    # When it is stopped and started
    ec2.stop_instances(InstanceIds=[pair.primary_instance_id])
    assert launch_time(ec2, pair.primary_instance_id) == before
    ec2.start_instances(InstanceIds=[pair.primary_instance_id])

    # Then its LaunchTime is later: EC2's own evidence of the restart
    after = launch_time(ec2, pair.primary_instance_id)
    assert isinstance(after, type(before))
    assert after > before  # type: ignore[operator]


def test_interface_groups_change_one_interface_where_instance_groups_are_refused(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a primary with two interfaces (its own and the floating one) and a new group
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    quarantine = ec2.create_security_group(
        GroupName="quarantine", Description="none", VpcId=pair.vpc_id
    )["GroupId"]
    nics = instance_interfaces(ec2, pair.primary_instance_id)
    own, floating = nics[0], nics[1]
    floating_groups = sorted(g["GroupId"] for g in floating["Groups"])

    # When the instance's groups are replaced, EC2 refuses (more than one interface)
    with pytest.raises(ClientError) as excinfo:
        ec2.modify_instance_attribute(InstanceId=pair.primary_instance_id, Groups=[quarantine])
    assert error_code(excinfo) == "InvalidInstanceID"

    # When its own interface's groups are replaced instead
    ec2.modify_network_interface_attribute(
        NetworkInterfaceId=own["NetworkInterfaceId"], Groups=[quarantine]
    )

    # Then that interface has exactly the new group, the other keeps its own
    nics = instance_interfaces(ec2, pair.primary_instance_id)
    assert [g["GroupId"] for g in nics[0]["Groups"]] == [quarantine]
    assert sorted(g["GroupId"] for g in nics[1]["Groups"]) == floating_groups
    assert sim.group_changes == [
        (pair.primary_instance_id, own["NetworkInterfaceId"], (quarantine,))
    ]
