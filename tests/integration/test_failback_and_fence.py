"""After the failover, on the simulator: automatic failback with its hold-down and flap
limit, and fencing the failed primary (stop, isolate) with its permissions' counterpart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

from eni_failover.config import FailbackPolicy, FailoverConfig, FenceMode
from eni_failover.pair_record import PairRecord, PairRecords
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_emulator.clock import ShiftedClock
from eni_failover_emulator.deployment import LocalDeployment
from tests.integration.conftest import ALARM_NAME, TEST_TUNING, pair_of
from tests.support import REGION, alarm_message, sns_event

HOLD_DOWN = 300


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


def deploy(
    topology: PairTopology, template: dict[str, Any], clock: ShiftedClock, **policy: Any
) -> LocalDeployment:
    pair = pair_of(topology).model_copy(update=policy)
    return LocalDeployment.from_template(
        FailoverConfig(pairs=(pair,), tuning=TEST_TUNING), template, clock=clock
    )


def where(topology: PairTopology) -> str | None:
    [eni] = boto3.client("ec2", region_name=REGION).describe_network_interfaces(
        NetworkInterfaceIds=[topology.interface_id]
    )["NetworkInterfaces"]
    return (eni.get("Attachment") or {}).get("InstanceId")


def record(deployment: LocalDeployment) -> PairRecord:
    return PairRecords(deployment.clients.dynamodb, deployment.resources.state_table_name).read(
        "nat"
    )


def alarm(
    deployment: LocalDeployment, topology: PairTopology, clock: ShiftedClock
) -> dict[str, Any]:
    return deployment.invoke(
        sns_event(
            alarm_message(
                alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id, at=clock.now()
            )
        )
    )


def sweep(deployment: LocalDeployment) -> dict[str, Any]:
    return deployment.invoke({"action": "sweep"})


def fail_over(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2, clock: ShiftedClock
) -> None:
    sim.set_status(topology.primary_instance_id, instance="impaired")
    [outcome] = alarm(deployment, topology, clock)["outcomes"]
    assert outcome["outcome"] == "swapped"
    assert where(topology) == topology.standby_instance_id


def restart_primary(topology: PairTopology, sim: FaithfulEC2) -> None:
    """Repair the primary the way an impaired instance is repaired: stop and start it.

    A failover from an impaired primary forces the detach, and after a forced detach EC2 may
    refuse that device index until a stop and start; failback waits for that evidence.
    """
    ec2 = boto3.client("ec2", region_name=REGION)
    ec2.stop_instances(InstanceIds=[topology.primary_instance_id])
    sim.settle()
    ec2.start_instances(InstanceIds=[topology.primary_instance_id])
    sim.set_status(topology.primary_instance_id, instance="ok")


# --- automatic failback --------------------------------------------------------------------


def test_failback_exactly_once_when_the_hold_down_completes(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    # Given a pair with failback=auto that failed over automatically
    deployment = deploy(topology, stack_template, clock, failback=FailbackPolicy.AUTO)
    fail_over(deployment, topology, sim, clock)
    deployment.notifications()
    # And the primary repaired
    restart_primary(topology, sim)

    # When the sweep watches it through the hold-down, a minute at a time
    for _minute in range(HOLD_DOWN // 60):
        assert sweep(deployment)["outcomes"] == []
        clock.advance(60)
    assert where(topology) == topology.standby_instance_id
    assert record(deployment).healthy_since is not None
    # Then the sweep once the window is complete fails back
    [outcome] = sweep(deployment)["outcomes"]
    assert (outcome["outcome"], outcome["direction"]) == ("swapped", "failback")
    assert outcome["trigger"]["kind"] == "failback"
    assert where(topology) == topology.primary_instance_id
    # And says so once, with why now
    [told] = deployment.notifications()
    assert told["subject"] == (
        f"ENI failover nat: failed back automatically to primary {topology.primary_instance_id}"
    )
    assert "Why now: the primary" in told["message"]
    assert "healthy without interruption" in told["message"]
    # And never again: the next minutes' sweeps do nothing
    clock.advance(60)
    assert sweep(deployment)["outcomes"] == []
    assert deployment.notifications() == []


def test_one_bad_observation_restarts_the_hold_down(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    deployment = deploy(topology, stack_template, clock, failback=FailbackPolicy.AUTO)
    fail_over(deployment, topology, sim, clock)
    restart_primary(topology, sim)
    # Given four healthy minutes
    for _minute in range(4):
        sweep(deployment)
        clock.advance(60)
    opened = record(deployment).healthy_since
    assert opened is not None
    # When one sweep sees the primary impaired
    sim.set_status(topology.primary_instance_id, instance="impaired")
    sweep(deployment)
    # Then the window is gone
    assert record(deployment).healthy_since is None
    # And healthy again, it starts over: 4 more minutes are not enough
    sim.set_status(topology.primary_instance_id, instance="ok")
    clock.advance(60)
    for _minute in range(5):
        assert sweep(deployment)["outcomes"] == []
        clock.advance(60)
    restarted = record(deployment).healthy_since
    assert restarted is not None
    assert restarted > opened
    assert where(topology) == topology.standby_instance_id
    # The fifth full minute of the new window completes it
    [outcome] = sweep(deployment)["outcomes"]
    assert outcome["outcome"] == "swapped"
    assert where(topology) == topology.primary_instance_id


def test_no_failback_while_paused(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    deployment = deploy(topology, stack_template, clock, failback=FailbackPolicy.AUTO)
    fail_over(deployment, topology, sim, clock)
    sim.set_status(topology.primary_instance_id, instance="ok")
    PairRecords(deployment.clients.dynamodb, deployment.resources.state_table_name).set_paused(
        "nat", by="carol", now=clock.now()
    )
    for _minute in range(HOLD_DOWN // 60 + 3):
        assert sweep(deployment)["outcomes"] == []
        clock.advance(60)
    assert where(topology) == topology.standby_instance_id
    assert record(deployment).healthy_since is None


def test_no_failback_after_a_manual_failover_until_resumed(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    # Given an operator failed over a healthy primary by hand
    deployment = deploy(topology, stack_template, clock, failback=FailbackPolicy.AUTO)
    [outcome] = deployment.invoke(
        {"action": "failover", "pair": "nat", "force": True, "requested_by": "dave"}
    )["outcomes"]
    assert outcome["outcome"] == "swapped"
    assert record(deployment).manual_hold
    # When the hold-down passes and more
    for _minute in range(HOLD_DOWN // 60 + 3):
        assert sweep(deployment)["outcomes"] == []
        clock.advance(60)
    # Then the interface stays where the operator put it
    assert where(topology) == topology.standby_instance_id
    # Until they resume automation (`eni-failover resume` clears the hold)
    PairRecords(deployment.clients.dynamodb, deployment.resources.state_table_name).set_paused(
        "nat", by=None, now=None
    )
    for _minute in range(HOLD_DOWN // 60):
        sweep(deployment)
        clock.advance(60)
    [back] = sweep(deployment)["outcomes"]
    assert back["direction"] == "failback"
    assert where(topology) == topology.primary_instance_id


def test_the_flap_limit_pauses_the_pair_and_says_how_to_resume(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    # Given a pair that may move by itself twice an hour: a failover and a failback
    deployment = deploy(
        topology, stack_template, clock, failback=FailbackPolicy.AUTO, max_automatic_moves=2
    )
    fail_over(deployment, topology, sim, clock)
    restart_primary(topology, sim)
    for _minute in range(HOLD_DOWN // 60 + 1):
        sweep(deployment)
        clock.advance(60)
    assert where(topology) == topology.primary_instance_id
    assert len(record(deployment).automatic_moves) == 2
    deployment.notifications()

    # When the primary fails again within the hour
    clock.advance(60)
    sim.set_status(topology.primary_instance_id, instance="impaired")
    [outcome] = alarm(deployment, topology, clock)["outcomes"]

    # Then nothing moves, the pair is paused by automation, and one notification says so
    assert (outcome["outcome"], outcome["automation_paused"]) == ("refused", True)
    assert where(topology) == topology.primary_instance_id
    paused = record(deployment)
    assert paused.paused_at is not None
    assert "flap limit" in (paused.paused_by or "")
    [told] = deployment.notifications()
    assert told["subject"] == "ENI failover nat: automation PAUSED, flap limit reached"
    assert "maxAutomaticMoves) is 2" in told["message"]
    assert "eni-failover resume nat" in told["message"]
    # And the next sweep leaves it alone (a missed failure is an automatic move too)
    clock.advance(120)
    assert all(o["outcome"] == "refused" for o in sweep(deployment)["outcomes"])
    assert where(topology) == topology.primary_instance_id


# --- fencing -------------------------------------------------------------------------------


def groups_of_primary_interface(ec2: Any, instance_id: str) -> list[str]:
    [instance] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"]
    [eth0] = [n for n in instance["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0]
    return sorted(g["GroupId"] for g in eth0["Groups"])


def test_stop_fence_stops_the_impaired_primary_with_force_never_the_standby(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    # Given a pair with fence=stop
    deployment = deploy(topology, stack_template, clock, fence=FenceMode.STOP)
    # When its primary is impaired and the alarm fails it over
    fail_over(deployment, topology, sim, clock)
    # Then the primary, and only the primary, was stopped with Force, after the move
    assert sim.stop_requests == [(topology.primary_instance_id, True)]
    [told] = deployment.notifications()
    assert told["subject"].endswith(", primary fenced")
    assert "Fence: stop" in told["message"]
    fenced = record(deployment)
    assert (fenced.fence_mode, fenced.fenced_instance_id) == ("stop", topology.primary_instance_id)


def test_no_fence_on_a_stopped_primary_or_a_drill(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    deployment = deploy(topology, stack_template, clock, fence=FenceMode.STOP)
    records = PairRecords(deployment.clients.dynamodb, deployment.resources.state_table_name)
    # Given a drill window (a healthy primary's alarm set on purpose)
    records.open_drill_window("nat", by="erin", until=clock.now() + timedelta(minutes=5))
    [drilled] = alarm(deployment, topology, clock)["outcomes"]
    assert drilled["outcome"] == "swapped"
    # Then the drill fenced nothing
    assert sim.stop_requests == []
    assert drilled["fence"] is None


def test_isolate_then_failback_restores_the_primary_groups(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    [instance] = ec2.describe_instances(InstanceIds=[topology.primary_instance_id])["Reservations"][
        0
    ]["Instances"]
    quarantine = ec2.create_security_group(
        GroupName="quarantine", Description="no rules", VpcId=instance["VpcId"]
    )["GroupId"]
    before = groups_of_primary_interface(ec2, topology.primary_instance_id)
    # Given a pair with fence=isolate and the stack's quarantine group
    deployment = deploy(
        topology, stack_template, clock, fence=FenceMode.ISOLATE, quarantine_group_id=quarantine
    )
    # When it fails over from an impaired primary
    fail_over(deployment, topology, sim, clock)
    # Then the primary's own interface has only the quarantine group; the standby is untouched
    assert groups_of_primary_interface(ec2, topology.primary_instance_id) == [quarantine]
    assert [change[0] for change in sim.group_changes] == [topology.primary_instance_id]
    assert record(deployment).isolated_groups == tuple(before)
    assert sim.stop_requests == []

    # When the primary is repaired and the operator fails back
    restart_primary(topology, sim)
    [outcome] = deployment.invoke({"action": "failback", "pair": "nat", "requested_by": "bob"})[
        "outcomes"
    ]
    # Then its groups came back first, and the interface is home
    assert outcome["outcome"] == "swapped"
    assert outcome["fence"]["mode"] == "restore"
    assert outcome["fence"]["done"] is True
    assert groups_of_primary_interface(ec2, topology.primary_instance_id) == before
    assert where(topology) == topology.primary_instance_id
    assert record(deployment).fence_mode is None


def test_a_failed_fence_is_reported_not_retried(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    # Given a stop fence that EC2 refuses
    deployment = deploy(topology, stack_template, clock, fence=FenceMode.STOP)
    sim.fail("StopInstances", "UnauthorizedOperation", times=5)
    # When the failover runs
    fail_over(deployment, topology, sim, clock)
    # Then the move stands, the fence failure is in the same notification, tried once
    [told] = deployment.notifications()
    assert told["subject"].endswith("FENCE FAILED")
    assert "UnauthorizedOperation" in told["message"]
    assert sim.calls["StopInstances"] == 1


def test_a_manual_failover_fences_only_when_asked(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    deployment = deploy(topology, stack_template, clock, fence=FenceMode.STOP)
    sim.set_status(topology.primary_instance_id, instance="impaired")
    deployment.invoke({"action": "failover", "pair": "nat", "requested_by": "f"})
    assert sim.stop_requests == []
    restart_primary(topology, sim)
    sim.stop_requests.clear()  # the repair's own stop
    deployment.invoke({"action": "failback", "pair": "nat", "requested_by": "f"})
    assert where(topology) == topology.primary_instance_id
    sim.set_status(topology.primary_instance_id, instance="impaired")
    [asked] = deployment.invoke(
        {"action": "failover", "pair": "nat", "fence": True, "requested_by": "f"}
    )["outcomes"]
    assert asked["fence"] is not None, asked
    assert asked["fence"]["done"] is True
    assert sim.stop_requests == [(topology.primary_instance_id, True)]
