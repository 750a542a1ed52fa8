"""An Availability Zone in a service disruption must not blind the pairs outside it.

EC2 fails a DescribeInstances that names an instance in the disrupted zone, or names no
instance IDs at all (Filters count as none); one that names only other zones' instances
works (EC2 API reference). The failover describes instances by ID, one call per zone, so a
pair in a healthy zone fails over by every trigger while another zone is down, and a pair
whose own zone is down is told as failed, once, with nothing moved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from eni_failover import ec2, prober
from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig, Pair
from eni_failover.discovery import PAIR_TAG, ROLE_TAG
from eni_failover.errors import FailoverIncomplete
from eni_failover_ec2sim import FaithfulEC2, PairTopology, build_pair
from eni_failover_emulator.clock import ShiftedClock
from eni_failover_emulator.deployment import LocalDeployment
from eni_failover_emulator.events import alarm_message, state_change_message
from tests.faults.views import MOVES, deliver, facts, outcome_of, where
from tests.integration.conftest import TEST_TUNING, pair_of
from tests.integration.test_detection import PROBE, probe_trigger
from tests.support import sns_event

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

HEALTHY_ZONE = "us-east-1a"
DISRUPTED_ZONE = "us-east-1b"


@dataclass
class TwoZones:
    """Pair "nat" in a healthy zone and pair "hit" in a disrupted one, deployed together."""

    sim: FaithfulEC2
    ec2: EC2Client
    healthy: PairTopology
    hit: PairTopology
    pairs: tuple[Pair, ...]
    clients: AwsClients
    template: dict[str, Any]

    def deployment(self, *, ahead: timedelta = timedelta()) -> LocalDeployment:
        return LocalDeployment.from_template(
            FailoverConfig(pairs=self.pairs, tuning=TEST_TUNING),
            self.template,
            clients=self.clients,
            clock=ShiftedClock(ahead),
        )

    def stop(self, instance_id: str) -> None:
        self.ec2.stop_instances(InstanceIds=[instance_id])
        self.sim.settle()


@pytest.fixture
def zones(
    sim: FaithfulEC2, ec2: EC2Client, clients: AwsClients, stack_template: dict[str, Any]
) -> TwoZones:
    healthy = build_pair(ec2, az=HEALTHY_ZONE, name="nat", sim=sim)
    hit = build_pair(ec2, az=DISRUPTED_ZONE, name="hit", sim=sim)
    pairs = (
        pair_of(healthy, name="nat", alarm_name="nat-status").model_copy(update={"probe": PROBE}),
        pair_of(hit, name="hit", alarm_name="hit-status").model_copy(update={"probe": PROBE}),
    )
    sim.reset_counts()
    return TwoZones(sim, ec2, healthy, hit, pairs, clients, stack_template)


def _state_change(zones: TwoZones) -> dict[str, Any]:
    zones.stop(zones.healthy.primary_instance_id)
    event = state_change_message(instance_id=zones.healthy.primary_instance_id, state="stopped")
    return sns_event(event)


def _alarm(zones: TwoZones) -> dict[str, Any]:
    zones.sim.set_status(zones.healthy.primary_instance_id, instance="impaired")
    message = alarm_message(alarm_name="nat-status", instance_id=zones.healthy.primary_instance_id)
    return sns_event(message)


def _probe(zones: TwoZones) -> dict[str, Any]:
    # The prober still finds where to probe the healthy zone's pair (and the interface of
    # the other), though DescribeInstances fails for the disrupted zone.
    targets = prober.find_targets(zones.clients, zones.pairs)
    assert targets["nat"].primary_ip is not None
    assert targets["nat"].standby_ip is not None
    assert targets["nat"].on_primary
    assert targets["hit"].service_ip is not None
    return sns_event(probe_trigger(standby_ok=True))


TRIGGERS: dict[str, Callable[[TwoZones], dict[str, Any]]] = {
    "state change": _state_change,
    "status-check alarm": _alarm,
    "probe": _probe,
}


@pytest.mark.parametrize("trigger", list(TRIGGERS))
def test_a_pair_in_a_healthy_zone_fails_over_while_another_zone_is_disrupted(
    zones: TwoZones, trigger: str
) -> None:
    # Given the zone of pair "hit" in a service disruption, and pair "nat"'s primary failing
    zones.sim.disrupt_zone(DISRUPTED_ZONE)
    event = TRIGGERS[trigger](zones)
    deployment = zones.deployment()
    # When the trigger reaches the function
    delivery = deliver(deployment, event)
    # Then nat's interface is on its standby, and the operators were told so, once
    assert delivery.error is None, delivery.error
    assert where(zones.ec2, zones.healthy.interface_id).instance_id == (
        zones.healthy.standby_instance_id
    )
    [told] = deployment.notifications()
    assert (told["attributes"]["pair"], outcome_of(told)) == ("nat", "swapped")
    # And hit's interface stayed where it was
    assert where(zones.ec2, zones.hit.interface_id).instance_id == zones.hit.primary_instance_id


def test_the_sweep_moves_a_healthy_zones_pair_and_says_which_it_could_not_see(
    zones: TwoZones,
) -> None:
    # Given nat's primary stopped two minutes ago with no event reaching the function, and
    # hit's zone in a service disruption
    zones.stop(zones.healthy.primary_instance_id)
    zones.sim.disrupt_zone(DISRUPTED_ZONE)
    deployment = zones.deployment(ahead=timedelta(minutes=2))
    # When the minute's sweep runs, and the trigger it hands off for nat is delivered
    report = deployment.invoke({"action": "sweep"})
    assert [handed["pair"] for handed in report["handed_off"]] == ["nat"]
    [delivered] = deployment.deliver_triggers()
    # Then nat was moved to its standby
    assert delivered.error is None, delivered.error
    assert delivered.result is not None
    [outcome] = delivered.result["outcomes"]
    assert (outcome["pair"], outcome["outcome"]) == ("nat", "swapped")
    assert where(zones.ec2, zones.healthy.interface_id).instance_id == (
        zones.healthy.standby_instance_id
    )
    # And the report names the pair it could not look at, and why
    [unseen] = report["unobserved"]
    assert unseen.startswith("hit: ")
    assert "Unavailable" in unseen
    assert where(zones.ec2, zones.hit.interface_id).instance_id == zones.hit.primary_instance_id


def test_a_pair_whose_own_zone_is_disrupted_is_told_failed_once_and_nothing_moves(
    zones: TwoZones,
) -> None:
    # Given hit's zone in a service disruption, and its status-check alarm firing
    zones.sim.disrupt_zone(DISRUPTED_ZONE)
    deployment = zones.deployment()
    event = sns_event(
        alarm_message(alarm_name="hit-status", instance_id=zones.hit.primary_instance_id)
    )
    # When the alarm reaches the function
    delivery = deliver(deployment, event)
    # Then nothing was detached or attached, the interface is where it was
    assert all(zones.sim.calls[operation] == 0 for operation in MOVES)
    assert where(zones.ec2, zones.hit.interface_id).instance_id == zones.hit.primary_instance_id
    # And the operators got one notification: failed, because EC2 would not describe the
    # pair's instances, which Lambda's retry will try again
    [told] = deployment.notifications()
    assert (told["attributes"]["pair"], outcome_of(told)) == ("hit", "failed")
    error = facts(told)["error"]
    assert "DescribeInstances" in error
    assert DISRUPTED_ZONE in error
    assert isinstance(delivery.error, FailoverIncomplete)
    # And Lambda's retries, failing the same way while the zone is down, tell nobody again
    # (and still fail, so the event ends in the dead-letter queue if the zone stays down)
    for _ in range(2):
        retry = deliver(deployment, event)
        assert isinstance(retry.error, FailoverIncomplete)
    assert deployment.notifications() == []
    assert all(zones.sim.calls[operation] == 0 for operation in MOVES)


def test_a_sandbox_that_knows_no_zone_still_describes_the_healthy_ones(zones: TwoZones) -> None:
    # Given a cold sandbox: no instance's zone known, no interface looked at
    ec2.ZONES.forget()
    zones.sim.disrupt_zone(DISRUPTED_ZONE)
    healthy = {zones.healthy.primary_instance_id, zones.healthy.standby_instance_id}
    hit = {zones.hit.primary_instance_id, zones.hit.standby_instance_id}
    # When it describes the instances of both zones together, with no guess at their zones
    look = ec2.look_instances(zones.clients.ec2, [*healthy, *hit])
    # Then the healthy zone's instances are described, and only the disrupted ones are not
    assert set(look.found) == healthy
    assert all(look.found[i].running for i in healthy)
    assert set(look.unanswered) == hit
    assert {e.code for e in look.unanswered.values()} == {"Unavailable"}
    # And the next look, knowing the healthy zone, asks it in one call of its own
    zones.sim.reset_counts()
    assert set(ec2.look_instances(zones.clients.ec2, healthy).found) == healthy
    assert zones.sim.calls["DescribeInstances"] == 1


def _tag(ec2_client: EC2Client, topology: PairTopology, pair: str) -> None:
    for resource, role in (
        (topology.primary_instance_id, "primary"),
        (topology.standby_instance_id, "standby"),
        (topology.interface_id, "floating"),
    ):
        ec2_client.create_tags(
            Resources=[resource],
            Tags=[{"Key": PAIR_TAG, "Value": pair}, {"Key": ROLE_TAG, "Value": role}],
        )


def _discovering(zones: TwoZones, *pairs: Pair) -> LocalDeployment:
    return LocalDeployment.from_template(
        FailoverConfig(pairs=pairs, tuning=TEST_TUNING, discover_tags=True),
        zones.template,
        clients=zones.clients,
    )


def test_a_configured_pair_fails_over_when_the_tags_cannot_be_read(zones: TwoZones) -> None:
    # Given a stack that also discovers pairs by tags, in a sandbox that has not read them
    # yet, while a zone's disruption fails every describe by tag (a filter names no IDs)
    deployment = _discovering(zones, zones.pairs[0])
    zones.sim.disrupt_zone(DISRUPTED_ZONE)
    # When nat's primary stops and its event arrives
    delivery = deliver(deployment, _state_change(zones))
    # Then nat is on its standby all the same: the configured pairs never wait on the tags
    assert delivery.error is None, delivery.error
    assert where(zones.ec2, zones.healthy.interface_id).instance_id == (
        zones.healthy.standby_instance_id
    )
    [told] = deployment.notifications()
    assert (told["attributes"]["pair"], outcome_of(told)) == ("nat", "swapped")


def test_a_tagged_pair_fails_over_from_the_last_tags_read_during_a_disruption(
    zones: TwoZones,
) -> None:
    # Given both pairs declared by tags, and a warm sandbox that read them before the
    # disruption began
    _tag(zones.ec2, zones.healthy, "proxy")
    _tag(zones.ec2, zones.hit, "far")
    deployment = _discovering(zones)
    assert [p["name"] for p in deployment.invoke({"action": "pairs"})["pairs"]] == [
        "far",
        "proxy",
    ]
    zones.sim.disrupt_zone(DISRUPTED_ZONE)
    discovered = deployment.dispatcher.runtime.discovered
    assert discovered is not None
    assert discovered.refresh().stale  # reading the tags again fails now
    # When the healthy zone's tagged primary stops, and its event arrives
    delivery = deliver(deployment, _state_change(zones))
    # Then the pair is moved from the tags read before: the refresh failing blinds nothing
    assert delivery.error is None, delivery.error
    assert where(zones.ec2, zones.healthy.interface_id).instance_id == (
        zones.healthy.standby_instance_id
    )
    [told] = deployment.notifications()
    assert (told["attributes"]["pair"], outcome_of(told)) == ("proxy", "swapped")


def test_the_prober_asks_a_disrupted_zone_again_only_after_a_while(zones: TwoZones) -> None:
    # Given the prober's first look at its targets during hit's zone's disruption
    zones.sim.disrupt_zone(DISRUPTED_ZONE)
    prober.find_targets(zones.clients, zones.pairs)
    # When it looks again at its next refresh
    zones.sim.reset_counts()
    targets = prober.find_targets(zones.clients, zones.pairs)
    # Then it asked only the healthy zone: asking the disrupted one costs botocore's backoff,
    # during which no pair is probed
    assert zones.sim.calls["DescribeInstances"] == 1
    assert targets["nat"].standby_ip is not None
    assert targets["hit"].service_ip is not None
    assert targets["hit"].primary_ip is None
