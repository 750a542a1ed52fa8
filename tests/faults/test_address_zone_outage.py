"""A zone outage: the primary's zone is in a service disruption, its addresses move away.

EC2 fails every DescribeInstances that names an instance in a disrupted zone (EC2 API
reference), so the failover cannot describe the primary it is moving away from. Routes and
Elastic IPs are regional and their describes keep answering; the standby, in another zone,
is described normally. The pair's move must not wait for the zone to come back: it reads
the primary from its interfaces, moves every address to the standby and says it could not
describe the primary. What it must not do is move anything to an instance it cannot see.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from eni_failover import ec2 as ec2_module
from eni_failover.errors import FailoverIncomplete
from eni_failover_ec2sim import FaithfulEC2
from eni_failover_ec2sim.topology import build_address_pair
from tests.faults.address_scene import AddressScene, make_scene
from tests.faults.views import facts, outcome_of

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

    from eni_failover.clients import AwsClients

PRIMARY_ZONE = "us-east-1a"
STANDBY_ZONE = "us-east-1b"


@pytest.fixture
def outage(
    sim: FaithfulEC2, ec2: EC2Client, clients: AwsClients, stack_template: dict[str, Any]
) -> AddressScene:
    """An overlay route in two route tables and an Elastic IP on a primary in us-east-1a,
    the standby in us-east-1b, and the function's sandbox cold (it knows no zone yet)."""
    ec2_module.ZONES.forget()
    topology = build_address_pair(ec2, name="edge", az=PRIMARY_ZONE, standby_az=STANDBY_ZONE)
    return make_scene(sim, ec2, clients, stack_template, topology)


def test_a_zone_outage_moves_the_routes_and_the_elastic_ip_to_the_other_zone(
    outage: AddressScene,
) -> None:
    scene, topology = outage, outage.topology
    # Given the primary's zone in a service disruption, its status check failing
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.sim.disrupt_zone(PRIMARY_ZONE)

    # When its alarm reaches the function
    delivery = scene.deliver(scene.alarm())

    # Then both routes and the Elastic IP are on the standby's interface in the other zone
    assert delivery.error is None, delivery.error
    assert set(scene.route_targets().values()) == {topology.standby_interface_id}
    assert scene.eip_interfaces() == [topology.standby_interface_id]
    assert scene.calls == Counter(ReplaceRoute=2, AssociateAddress=1)
    # And the one notification says so, and that EC2 would not describe the primary
    [told] = scene.notifications()
    assert outcome_of(told) == "swapped"
    where = {a["address"]: a["on_instance"] for a in facts(told)["addresses"]}
    assert set(where.values()) == {scene.standby}
    [note] = [n for n in facts(told)["notes"] if "would not describe" in n]
    assert scene.primary in note
    assert PRIMARY_ZONE in note


def test_a_standby_in_the_disrupted_zone_is_never_moved_to(outage: AddressScene) -> None:
    scene, topology = outage, outage.topology
    # Given the standby's zone disrupted and the primary's status check failing
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.sim.disrupt_zone(STANDBY_ZONE)

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then nothing moved to the standby EC2 would not describe, and the operators were told
    assert delivery.error is not None
    assert scene.calls == Counter()
    assert set(scene.route_targets().values()) == {topology.primary_interface_id}
    [told] = scene.notifications()
    assert outcome_of(told) == "failed"
    assert scene.standby in facts(told)["error"]


def test_no_failback_to_a_primary_in_the_disrupted_zone(outage: AddressScene) -> None:
    scene, topology = outage, outage.topology
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.sim.disrupt_zone(PRIMARY_ZONE)
    scene.deliver(scene.alarm())
    scene.notifications()
    scene.calls.clear()

    # When an operator asks to fail back while the zone is still disrupted
    with pytest.raises(FailoverIncomplete):
        scene.deployment.invoke(
            {"action": "failback", "pair": "edge", "requested_by": "ops@example.com"}
        )

    # Then nothing moves back to the primary EC2 cannot describe, and the operator is told
    assert scene.calls == Counter()
    assert set(scene.route_targets().values()) == {topology.standby_interface_id}
    [told] = scene.notifications()
    assert outcome_of(told) == "failed"
    assert scene.primary in facts(told)["error"]
