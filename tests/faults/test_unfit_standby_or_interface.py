"""A standby that cannot take the interface, or an interface that is gone.

Checked before anything moves: the interface stays where it was, and the operators are
told why in a refusal. An interface deleted mid-move is a failure, said as such.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from eni_failover.config import FailoverConfig
from eni_failover.errors import FailoverIncomplete
from eni_failover_ec2sim import build_pair
from eni_failover_emulator.deployment import FakeLambdaContext
from tests.faults.views import Scene, facts, outcome_of, where
from tests.integration.conftest import TEST_TUNING, pair_of


def impaired(scene: Scene) -> None:
    scene.sim.set_status(scene.standby, system="impaired")


def stopped(scene: Scene) -> None:
    scene.ec2.stop_instances(InstanceIds=[scene.standby])


def terminated(scene: Scene) -> None:
    scene.ec2.terminate_instances(InstanceIds=[scene.standby])


@pytest.mark.parametrize(
    ("make_unfit", "reason"),
    [
        (impaired, "has an impaired status check"),
        (stopped, "is stopped, not running"),
        (terminated, "is terminated, not running"),
    ],
    ids=["impaired", "stopped", "terminated"],
)
def test_unfit_standby_is_refused_and_the_interface_stays_on_the_primary(
    scene: Scene, make_unfit: Callable[[Scene], None], reason: str
) -> None:
    # Given a failed primary and a standby that cannot serve
    scene.sim.set_status(scene.primary, instance="impaired")
    make_unfit(scene)

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then nothing moves, and the refusal names the standby and why
    assert delivery.error is None
    eni = scene.interface()
    assert (eni.instance_id, eni.attachment_status) == (scene.primary, "attached")
    assert scene.moves == Counter()
    [refused] = scene.notifications()
    assert refused["subject"] == "ENI failover nat: failover refused"
    [why] = facts(refused)["reasons"]
    assert scene.standby in why
    assert reason in why


def test_standby_in_another_availability_zone_is_refused(scene: Scene) -> None:
    # Given a pair whose standby was launched in another AZ than the interface's subnet
    sim = scene.sim
    split = build_pair(scene.ec2, name="split", standby_az="us-east-1b", sim=sim)
    scene.deployment = scene.environment_for(
        FailoverConfig(pairs=(pair_of(split, name="split"),), tuning=TEST_TUNING)
    )
    scene.moves.clear()
    sim.set_status(split.primary_instance_id, instance="impaired")

    # When the primary's alarm arrives
    delivery = scene.deliver(scene.alarm(instance_id=split.primary_instance_id))

    # Then nothing moves: an interface can only move within its Availability Zone
    assert delivery.error is None
    assert where(scene.ec2, split.interface_id).instance_id == split.primary_instance_id
    assert scene.moves == Counter()
    [refused] = scene.notifications()
    assert outcome_of(refused) == "refused"
    [why] = facts(refused)["reasons"]
    assert "us-east-1a" in why
    assert "us-east-1b" in why
    assert "can only move within its Availability Zone" in why


def test_deleted_interface_is_refused(scene: Scene) -> None:
    # Given a failed primary whose floating interface someone detached and deleted
    ec2, interface_id = scene.ec2, scene.topology.interface_id
    scene.sim.set_status(scene.primary, instance="impaired")
    ec2.detach_network_interface(AttachmentId=scene.topology.attachment_id)
    scene.sim.settle()
    ec2.delete_network_interface(NetworkInterfaceId=interface_id)
    scene.moves.clear()

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then nothing is attempted, and the refusal says the interface does not exist
    assert delivery.error is None
    assert not scene.interface().exists
    assert scene.moves == Counter()
    [refused] = scene.notifications()
    assert outcome_of(refused) == "refused"
    assert facts(refused)["reasons"] == [f"interface {interface_id} does not exist"]


def test_interface_deleted_during_the_move_is_a_failure_said_as_such(scene: Scene) -> None:
    # Given a failed primary, and someone deleting the interface as soon as it is detached
    sim, ec2, interface_id = scene.sim, scene.ec2, scene.topology.interface_id
    sim.set_status(scene.primary, instance="impaired")

    def delete_it(_: object) -> None:
        sim.settle()
        ec2.delete_network_interface(NetworkInterfaceId=interface_id)

    sim.on("DetachNetworkInterface", delete_it, times=1)
    event, context = scene.alarm(), FakeLambdaContext()

    # When the alarm arrives, and Lambda retries it
    first = scene.deliver(event, context)
    retry = scene.deliver(event, FakeLambdaContext(aws_request_id=context.aws_request_id))

    # Then the move fails, saying the interface disappeared; the retry, finding no
    # interface, refuses; nothing was attached anywhere
    assert isinstance(first.error, FailoverIncomplete)
    assert retry.error is None
    assert scene.moves == Counter(DetachNetworkInterface=1)
    failed, refused = scene.notifications()
    assert failed["subject"] == "ENI failover nat: failover FAILED, action needed"
    assert "disappeared during the move" in facts(failed)["error"]
    assert f"{interface_id}: does not exist" in failed["message"]
    assert outcome_of(refused) == "refused"
    assert facts(refused)["reasons"] == [f"interface {interface_id} does not exist"]
