"""The failover's describe calls as a real account answers them (issue #9).

- DescribeNetworkInterfaces: in an account with many interfaces EC2 refuses an
  unpaginated describe that names no IDs and uses no indexed filter (the simulator treats
  every account as large), and a describe by IDs fails whole when one ID is unknown.
- DescribeInstanceStatus: a terminated instance that DescribeInstances still shows may be
  InvalidInstanceID.NotFound to it. Tests that depend on it run with both answers.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from eni_failover import ec2
from eni_failover_cli import check, status
from eni_failover_cli.deployment import Deployment
from eni_failover_cli.outputs import StackOutputs
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_emulator.deployment import LocalDeployment
from tests.integration.conftest import pair_of
from tests.support import sns_event, state_change_message

# DescribeInstanceStatus for a terminated instance: listed "not-applicable", or NotFound.
BOTH_STATUS_ANSWERS = pytest.mark.parametrize(
    "sim",
    [
        pytest.param({"terminated_status_not_found": False}, id="status-listed"),
        pytest.param({"terminated_status_not_found": True}, id="status-not-found"),
    ],
    indirect=True,
)


def test_a_pair_is_observed_with_one_describe_per_kind_in_a_large_account(
    sim: FaithfulEC2, topology: PairTopology
) -> None:
    # Given an account where an unindexed DescribeNetworkInterfaces is refused
    client = boto3.client("ec2", region_name="us-east-1")

    # When the failover observes the pair
    state = ec2.observe_pair(client, pair_of(topology))

    # Then it sees the interface on the primary, with one call of each describe
    [interface] = state.interfaces
    assert interface.attached_to(topology.primary_instance_id)
    assert sim.calls == {
        "DescribeNetworkInterfaces": 1,
        "DescribeInstances": 1,
        "DescribeInstanceStatus": 1,
    }


def test_a_deleted_interface_reads_as_missing_and_the_others_as_they_are(
    sim: FaithfulEC2, topology: PairTopology
) -> None:
    # Given a pair's interface, and a second one that was deleted
    client = boto3.client("ec2", region_name="us-east-1")
    gone = client.create_network_interface(SubnetId=topology.subnet_id)["NetworkInterface"]
    gone_id = gone["NetworkInterfaceId"]
    client.delete_network_interface(NetworkInterfaceId=gone_id)
    sim.reset_counts()

    # When both are described (EC2 fails a describe by IDs whole for one unknown ID)
    found = ec2.describe_interfaces(client, [topology.interface_id, gone_id])

    # Then only the deleted one reads as missing: the whole call, then each on its own
    assert found[gone_id].exists is False
    assert found[topology.interface_id].attached_to(topology.primary_instance_id)
    assert sim.calls == {"DescribeNetworkInterfaces": 3}


def test_an_instance_that_vanishes_between_the_two_describes_blinds_only_itself(
    sim: FaithfulEC2, topology: PairTopology
) -> None:
    # Given DescribeInstanceStatus answering NotFound once (an instance gone meanwhile)
    client = boto3.client("ec2", region_name="us-east-1")
    sim.fail("DescribeInstanceStatus", "InvalidInstanceID.NotFound")

    # When both instances are described
    both = (topology.primary_instance_id, topology.standby_instance_id)
    views = ec2.describe_instances(client, both)

    # Then each is asked on its own, and both read with their checks
    assert [views[i].healthy for i in both] == [True, True]
    assert sim.calls["DescribeInstanceStatus"] == 3


@BOTH_STATUS_ANSWERS
def test_a_terminated_primary_is_failed_over_by_its_state_change_event(
    sim: FaithfulEC2, topology: PairTopology, deployment: LocalDeployment
) -> None:
    # Given the primary was terminated: EC2 lets go of the interface, which floats
    client = boto3.client("ec2", region_name="us-east-1")
    client.terminate_instances(InstanceIds=[topology.primary_instance_id])
    event = sns_event(
        state_change_message(instance_id=topology.primary_instance_id, state="terminated")
    )

    # When its state-change event arrives
    deployment.invoke(event)

    # Then the interface is on the standby, and the operators are told
    view = ec2.describe_interfaces(client, [topology.interface_id])[topology.interface_id]
    assert view.attached_to(topology.standby_instance_id)
    [notification] = deployment.notifications()
    assert notification["attributes"]["outcome"] == "swapped"


@BOTH_STATUS_ANSWERS
def test_check_and_status_still_read_a_pair_whose_primary_is_terminated(
    sim: FaithfulEC2, topology: PairTopology, deployment: LocalDeployment
) -> None:
    # Given a pair whose primary was terminated, and then failed over
    client = boto3.client("ec2", region_name="us-east-1")
    client.terminate_instances(InstanceIds=[topology.primary_instance_id])
    deployment.invoke(
        sns_event(
            state_change_message(instance_id=topology.primary_instance_id, state="terminated")
        )
    )
    operator = operator_view(deployment, topology)

    # When the operator runs `check` and `status`
    _code, readiness, text = check.run(operator, "nat", by="test")
    seen = status.collect(operator, "nat")

    # Then the function's readiness check answers (it does not fail on the lookup)
    [pair] = readiness["pairs"]
    assert any(c["check"] == "location" for c in pair["checks"]), text
    # And status shows the terminated primary with unknown checks, the standby healthy,
    # and the interface on the standby
    [shown] = seen["pairs"]
    assert shown["instances_error"] is None
    assert shown["primary"]["state"] == "terminated"
    assert shown["primary"]["system_status"] is None
    assert shown["standby"]["healthy"] is True
    assert shown["location"] == "standby"
    assert "terminated" in "\n".join(status.describe_pair(shown))


class _Function:
    """The deployed function as a command sees it, run in this process."""

    name = "eni-failover"

    def __init__(self, deployment: LocalDeployment) -> None:
        self._deployment = deployment

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._deployment.invoke(request)


def operator_view(deployment: LocalDeployment, topology: PairTopology) -> Deployment:
    """The CLI's view of the emulated deployment: its outputs, clients and function."""
    resources = deployment.resources
    outputs = StackOutputs(
        stack_name="local",
        function_name="eni-failover",
        trigger_topic_arn="arn:aws:sns:us-east-1:123456789012:eni-failover-trigger",
        notification_topic_arn=resources.notification_topic_arn,
        state_table_name=resources.state_table_name,
        dead_letter_queue_url=resources.dead_letter_queue_url,
        state_rule_name="EniFailover-instance-state",
    )
    return Deployment(
        outputs=outputs,
        clients=deployment.clients,
        function=_Function(deployment),
        where="the emulator",
    )
