"""Instances with several network cards: the interface moves to the same card and index.

A device index is unique per network card, not per instance. The pair here has two cards
per instance, and the floating interface sits at device index 1 of card 1, while the
standby already uses device index 1 of card 0 for an interface of its own: a failover that
knew only device indexes would refuse (or attach on card 0, which EC2 refuses).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pytest

from eni_failover_ec2sim import CallEvent, FaithfulEC2, PairTopology, build_pair
from eni_failover_emulator.deployment import FakeLambdaContext
from tests.faults.views import ONE_SWAP, Killed, LambdaDeadline, Scene, facts

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

FLOATING_CARD = 1


@pytest.fixture
def topology(sim: FaithfulEC2, ec2: EC2Client) -> PairTopology:
    """Two network cards per instance; the floating interface at card 1, device index 1;
    the standby's own second interface at card 0, device index 1."""
    built = build_pair(ec2, name="nat", network_cards=2, network_card_index=FLOATING_CARD, sim=sim)
    own = ec2.create_network_interface(SubnetId=built.subnet_id)["NetworkInterface"]
    ec2.attach_network_interface(
        NetworkInterfaceId=own["NetworkInterfaceId"],
        InstanceId=built.standby_instance_id,
        DeviceIndex=1,
    )
    sim.settle()
    sim.reset_counts()
    return built


def placement(ec2: EC2Client, interface_id: str) -> tuple[str | None, int, int] | None:
    """(instance, network card, device index) DescribeNetworkInterfaces reports."""
    [eni] = ec2.describe_network_interfaces(NetworkInterfaceIds=[interface_id])["NetworkInterfaces"]
    attachment = eni.get("Attachment")
    if attachment is None:
        return None
    return (
        attachment.get("InstanceId"),
        attachment.get("NetworkCardIndex", 0),
        attachment["DeviceIndex"],
    )


def test_interface_on_a_second_network_card_moves_to_that_card_on_the_standby(
    scene: Scene,
) -> None:
    # Given a failed primary whose floating interface is at device index 1 of card 1
    scene.sim.set_status(scene.primary, instance="impaired")

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then the interface is on the standby at the same card and device index, beside the
    # standby's own interface at device index 1 of card 0
    assert delivery.error is None
    assert placement(scene.ec2, scene.topology.interface_id) == (scene.standby, 1, 1)
    assert scene.moves == ONE_SWAP
    [notification] = scene.notifications()
    assert facts(notification)["outcome"] == "swapped"


def test_standby_using_the_same_card_and_index_is_refused_naming_the_card(
    scene: Scene,
) -> None:
    # Given a failed primary, and a standby that uses device index 1 of card 1 already
    taken = scene.ec2.create_network_interface(SubnetId=scene.topology.subnet_id)
    scene.ec2.attach_network_interface(
        NetworkInterfaceId=taken["NetworkInterface"]["NetworkInterfaceId"],
        InstanceId=scene.standby,
        DeviceIndex=1,
        NetworkCardIndex=FLOATING_CARD,
    )
    scene.sim.settle()
    scene.moves.clear()  # count only what the failover does
    scene.sim.set_status(scene.primary, instance="impaired")

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then nothing moves, and the refusal names the card and the index
    assert delivery.error is None
    assert placement(scene.ec2, scene.topology.interface_id) == (scene.primary, 1, 1)
    assert scene.moves == Counter()
    [refused] = scene.notifications()
    [why] = facts(refused)["reasons"]
    assert "already uses device index 1 on network card 1" in why


def test_retry_after_a_kill_following_the_detach_attaches_at_the_journaled_card(
    scene: Scene,
) -> None:
    # Given a failed primary and an invocation killed right after its detach, so that only
    # the journal remembers where the interface was
    scene.sim.set_status(scene.primary, instance="impaired")

    def timed_out(_: CallEvent) -> None:
        raise Killed("Lambda timed out right after DetachNetworkInterface")

    scene.sim.on("DetachNetworkInterface", timed_out, times=1)
    event = scene.alarm()
    killed = LambdaDeadline(remaining_seconds=0.5)
    with pytest.raises(Killed):
        scene.deployment.invoke(event, killed)

    # When Lambda retries after the deadline
    killed.wait_until_passed()
    retry = scene.deliver(event, killed.retry_context())

    # Then the retry attaches at the card and device index the journal kept
    assert retry.error is None
    assert placement(scene.ec2, scene.topology.interface_id) == (scene.standby, 1, 1)
    assert scene.moves == ONE_SWAP
    assert scene.deliver(event, FakeLambdaContext()).error is None  # a replay, no move
    assert scene.moves == ONE_SWAP
