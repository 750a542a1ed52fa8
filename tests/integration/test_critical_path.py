"""The calls between a trigger and the attach (issue 20): only what the move needs, and
side by side where they do not depend on each other.

Durations are bench's to measure (bench/swap_time.py); these tests pin what an operator
can see in the EC2 calls: which are made at all, and which are in flight together.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from eni_failover import ec2
from eni_failover.errors import PairBusy
from eni_failover.pair_record import PairRecords
from eni_failover.shared_looks import WATCH_ID, WATCH_PREFIX
from eni_failover_ec2sim import CallEvent, FaithfulEC2, PairTopology
from eni_failover_emulator.deployment import LocalDeployment
from tests.integration.conftest import ALARM_NAME
from tests.support import REGION, alarm_message, sns_event

# Long enough for any thread to start; a look made one call after another waits it out.
CONCURRENT_WITHIN_SECONDS = 2.0
ADDRESS_DESCRIBES = ("DescribeRouteTables", "DescribeAddresses")


class InFlightTogether:
    """Whether a DescribeInstanceStatus was sent while a DescribeInstances was in EC2.

    EC2 (the simulator) holds each DescribeInstances it serves until a status request has
    been sent, for at most CONCURRENT_WITHIN_SECONDS: asked together, it is sent at once;
    asked after DescribeInstances answers, it cannot be, and the wait runs out.
    """

    def __init__(self, sim: FaithfulEC2, client: Any) -> None:
        self.status_sent = threading.Event()
        self.answers: list[bool] = []
        client.meta.events.register(
            "before-call.ec2.DescribeInstanceStatus", lambda **_: self.status_sent.set()
        )
        sim.on("DescribeInstances", self._hold)

    def _hold(self, _event: CallEvent) -> None:
        self.answers.append(self.status_sent.wait(CONCURRENT_WITHIN_SECONDS))
        self.status_sent.clear()


def test_a_pairs_instances_and_their_checks_are_asked_together(
    sim: FaithfulEC2, topology: PairTopology
) -> None:
    # Given the function's EC2 client, and the zone of the pair's instances known (from its
    # interface, as a move knows it)
    client = boto3.client("ec2", region_name=REGION)
    together = InFlightTogether(sim, client)
    both = (topology.primary_instance_id, topology.standby_instance_id)

    # When the pair's instances are described
    views = ec2.describe_instances(client, both, zones=dict.fromkeys(both, "us-east-1a"))

    # Then their status checks were asked while DescribeInstances was answered, and each
    # instance reads with its checks, in one call of each
    assert together.answers == [True]
    assert [views[i].healthy for i in both] == [True, True]
    assert (sim.calls["DescribeInstances"], sim.calls["DescribeInstanceStatus"]) == (1, 1)


def test_many_instances_have_their_checks_asked_after_they_are_described(
    sim: FaithfulEC2, topology: PairTopology
) -> None:
    # Given more instances than a pair (a sweep's fleet): asking their checks before knowing
    # which are running would ask for some that have none
    client = boto3.client("ec2", region_name=REGION)
    together = InFlightTogether(sim, client)
    reservation = client.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=topology.subnet_id
    )
    third = reservation["Instances"][0]["InstanceId"]
    ids = (topology.primary_instance_id, topology.standby_instance_id, third)
    together.answers.clear()

    # When they are described
    ec2.describe_instances(client, ids, zones=dict.fromkeys(ids, "us-east-1a"))

    # Then the checks were asked only once DescribeInstances had answered
    assert together.answers == [False]


@pytest.mark.parametrize("sim", [{"terminated_status_not_found": True}], indirect=True)
def test_a_terminated_instance_is_asked_no_checks_it_has_not(
    sim: FaithfulEC2, topology: PairTopology
) -> None:
    # Given a terminated primary, whose status checks EC2 answers NotFound
    client = boto3.client("ec2", region_name=REGION)
    client.terminate_instances(InstanceIds=[topology.primary_instance_id])
    sim.settle()
    both = (topology.primary_instance_id, topology.standby_instance_id)

    # When the pair's instances are described
    views = ec2.describe_instances(client, both, zones=dict.fromkeys(both, "us-east-1a"))

    # Then the primary reads terminated, the standby healthy with its checks: the answer
    # asked together (NotFound) was not used, and the standby's checks were asked alone
    assert views[topology.primary_instance_id].state == "terminated"
    assert views[topology.standby_instance_id].healthy


def test_an_interface_only_pair_fails_over_without_describing_any_address(
    sim: FaithfulEC2, topology: PairTopology, deployment: LocalDeployment
) -> None:
    # Given a pair of one interface, no route, Elastic IP or secondary IP, its primary
    # impaired
    sim.set_status(topology.primary_instance_id, instance="impaired")

    # When its status-check alarm arrives
    report = deployment.invoke(
        sns_event(alarm_message(alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id))
    )

    # Then it moved, and nothing asked EC2 about routes or addresses on the way
    assert [o["outcome"] for o in report["outcomes"]] == ["swapped"]
    assert {op: sim.calls[op] for op in ADDRESS_DESCRIBES} == dict.fromkeys(ADDRESS_DESCRIBES, 0)


def alarm(topology: PairTopology) -> dict[str, Any]:
    return sns_event(alarm_message(alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id))


def watch_item(deployment: LocalDeployment) -> dict[str, Any]:
    return deployment.clients.dynamodb.get_item(
        TableName=deployment.resources.state_table_name,
        Key={"id": {"S": f"{WATCH_ID}#us-east-1a"}},
        ConsistentRead=True,
    ).get("Item", {})


def test_a_move_registers_its_watch_without_waiting_for_the_lease(
    sim: FaithfulEC2, topology: PairTopology, deployment: LocalDeployment
) -> None:
    # Given the lease's write held back until the move's registration with the shared
    # looks has been sent (for at most CONCURRENT_WITHIN_SECONDS)
    registered = threading.Event()
    waited: list[bool] = []

    def on_update(params: dict[str, Any], **_: Any) -> None:
        key = params["Key"]["id"]["S"]
        if key.startswith(WATCH_ID) and "REMOVE" not in params["UpdateExpression"]:
            registered.set()
        elif key == "pair#nat" and "lease_owner = :owner" in params["UpdateExpression"]:
            waited.append(registered.wait(CONCURRENT_WITHIN_SECONDS))

    deployment.clients.dynamodb.meta.events.register(
        "provide-client-params.dynamodb.UpdateItem", on_update
    )
    sim.set_status(topology.primary_instance_id, instance="impaired")

    # When the primary's alarm arrives
    report = deployment.invoke(alarm(topology))

    # Then the registration was sent while the lease was being taken, and the move made
    assert waited[:1] == [True]
    assert [o["outcome"] for o in report["outcomes"]] == ["swapped"]
    # And the move left the shared looks once done
    assert not any(name.startswith(WATCH_PREFIX) for name in watch_item(deployment))


def test_a_trigger_that_finds_its_pair_busy_leaves_no_registration_behind(
    sim: FaithfulEC2, topology: PairTopology, deployment: LocalDeployment
) -> None:
    # Given another invocation holding the pair's lease for the next minute
    records = PairRecords(deployment.clients.dynamodb, deployment.resources.state_table_name)
    assert records.try_acquire("nat", owner="other", now=datetime.now(UTC), hold_seconds=60)
    sim.set_status(topology.primary_instance_id, instance="impaired")

    # When the primary's alarm arrives, and gives up waiting for the lease
    with pytest.raises(PairBusy):
        deployment.invoke(alarm(topology))

    # Then the move it registered for (while waiting) is no longer watched, and nothing moved
    assert not any(name.startswith(WATCH_PREFIX) for name in watch_item(deployment))
    assert sim.calls["DetachNetworkInterface"] == 0


def test_the_describe_that_told_the_zone_before_the_lease_is_never_decided_on(
    sim: FaithfulEC2, topology: PairTopology, deployment: LocalDeployment
) -> None:
    # Given another invocation holding the pair's lease, and the primary impaired
    records = PairRecords(deployment.clients.dynamodb, deployment.resources.state_table_name)
    assert records.try_acquire("nat", owner="other", now=datetime.now(UTC), hold_seconds=60)
    sim.set_status(topology.primary_instance_id, instance="impaired")
    zone_told = threading.Event()
    sim.on("DescribeNetworkInterfaces", lambda _: zone_told.set(), times=1)
    client = boto3.client("ec2", region_name=REGION)

    with ThreadPoolExecutor(max_workers=1) as pool:
        # When the alarm arrives, and its registration describes the interface (on the
        # primary) while the lease is held
        handling = pool.submit(deployment.invoke, alarm(topology))
        assert zone_told.wait(CONCURRENT_WITHIN_SECONDS)
        # And the other invocation moves the interface to the standby, then lets go
        [eni] = client.describe_network_interfaces(NetworkInterfaceIds=[topology.interface_id])[
            "NetworkInterfaces"
        ]
        client.detach_network_interface(AttachmentId=eni["Attachment"]["AttachmentId"])
        sim.settle()
        client.attach_network_interface(
            NetworkInterfaceId=topology.interface_id,
            InstanceId=topology.standby_instance_id,
            DeviceIndex=1,
        )
        sim.settle()
        records.give_back("nat", owner="other")
        sim.reset_counts()
        report = handling.result(timeout=30)

    # Then the alarm's move decided from a look taken once it held the lease: the interface
    # is already on the standby, and nothing was detached or attached
    assert [o["outcome"] for o in report["outcomes"]] == ["already-in-place"]
    assert sim.calls["DetachNetworkInterface"] == sim.calls["AttachNetworkInterface"] == 0
