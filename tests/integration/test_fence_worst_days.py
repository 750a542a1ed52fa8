"""Fencing that does what it says (issue 18, item 3), on the simulator.

Isolate quarantines every interface still on the primary, one by one, and failback gives
each its own groups back; stop skips the OS shutdown and is called done only once EC2
shows the primary stopped; and nothing is fenced unless the interface is attached on the
standby first.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from eni_failover import ec2 as ec2_calls
from eni_failover.config import FailbackPolicy, FailoverConfig, FenceMode
from eni_failover.errors import FailoverIncomplete
from eni_failover.failover import RESERVE_SECONDS
from eni_failover.outcome import JSON_MARKER
from eni_failover_ec2sim import CallEvent, FaithfulEC2, PairTopology, build_pair
from eni_failover_emulator.clock import ShiftedClock
from eni_failover_emulator.deployment import FakeLambdaContext, LocalDeployment
from eni_failover_emulator.events import state_change_message
from tests.faults.views import outcome_of
from tests.integration.conftest import TEST_TUNING, pair_of
from tests.integration.test_failback_and_fence import (
    alarm,
    deploy,
    record,
    restart_primary,
    where,
)
from tests.support import REGION, sns_event


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


def groups_by_index(instance_id: str) -> dict[int, list[str]]:
    ec2 = boto3.client("ec2", region_name=REGION)
    [instance] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"]
    return {
        n["Attachment"]["DeviceIndex"]: sorted(g["GroupId"] for g in n["Groups"])
        for n in instance["NetworkInterfaces"]
    }


def second_interface_on_primary(topology: PairTopology, sim: FaithfulEC2) -> str:
    """A second interface of the primary's own (device index 2), with a group of its own."""
    ec2 = boto3.client("ec2", region_name=REGION)
    group = ec2.create_security_group(
        GroupName="backend", Description="backend", VpcId=topology.vpc_id
    )["GroupId"]
    interface_id = ec2.create_network_interface(SubnetId=topology.subnet_id, Groups=[group])[
        "NetworkInterface"
    ]["NetworkInterfaceId"]
    ec2.attach_network_interface(
        NetworkInterfaceId=interface_id, InstanceId=topology.primary_instance_id, DeviceIndex=2
    )
    sim.settle()
    return interface_id


def quarantine_group(topology: PairTopology) -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    return ec2.create_security_group(
        GroupName="quarantine", Description="no rules", VpcId=topology.vpc_id
    )["GroupId"]


# --- isolate -------------------------------------------------------------------------------


def test_isolate_quarantines_each_interface_left_on_the_primary_and_failback_restores_each(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    # Given a primary with two interfaces of its own besides the floating one, so that
    # ModifyInstanceAttribute Groups would be refused (more than one interface)
    second = second_interface_on_primary(topology, sim)
    quarantine = quarantine_group(topology)
    before = groups_by_index(topology.primary_instance_id)
    deployment = deploy(
        topology, stack_template, clock, fence=FenceMode.ISOLATE, quarantine_group_id=quarantine
    )

    # When the primary is impaired and the alarm fails the pair over
    sim.set_status(topology.primary_instance_id, instance="impaired")
    [outcome] = alarm(deployment, topology, clock)["outcomes"]

    # Then the interface is on the standby, and each interface left on the primary has only
    # the quarantine group, each changed by its own ModifyNetworkInterfaceAttribute
    assert outcome["outcome"] == "swapped"
    assert where(topology) == topology.standby_instance_id
    assert groups_by_index(topology.primary_instance_id) == {0: [quarantine], 2: [quarantine]}
    assert sim.calls["ModifyInstanceAttribute"] == 0
    assert sorted(change[1] for change in sim.group_changes) == sorted(
        [topology_eth0(topology, before_index=0), second]
    )
    assert outcome["fence"]["done"] is True, outcome["fence"]
    assert second in outcome["fence"]["detail"]
    # And the floating interface (on the standby now) kept its groups
    assert topology.interface_id not in {change[1] for change in sim.group_changes}
    fenced = record(deployment)
    assert dict(fenced.isolated_interfaces) == {
        topology_eth0(topology, before_index=0): tuple(before[0]),
        second: tuple(before[2]),
    }

    # When the primary is repaired (stopped and started: the detach was forced) and the
    # operator fails back
    restart_primary(topology, sim)
    [back] = deployment.invoke({"action": "failback", "pair": "nat", "requested_by": "bob"})[
        "outcomes"
    ]

    # Then each interface has its own groups again, and the floating interface is home
    assert back["outcome"] == "swapped"
    assert (back["fence"]["mode"], back["fence"]["done"]) == ("restore", True)
    assert groups_by_index(topology.primary_instance_id) == before
    assert where(topology) == topology.primary_instance_id
    assert record(deployment).fence_mode is None


def topology_eth0(topology: PairTopology, *, before_index: int) -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    [instance] = ec2.describe_instances(InstanceIds=[topology.primary_instance_id])["Reservations"][
        0
    ]["Instances"]
    [nic] = [
        n for n in instance["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == before_index
    ]
    return str(nic["NetworkInterfaceId"])


# --- stop ----------------------------------------------------------------------------------

SLOW_OS = {"stop_seconds": 0.3, "os_shutdown_seconds": 60.0}


@pytest.mark.parametrize("sim", [SLOW_OS], indirect=True)
def test_stop_skips_the_os_shutdown_and_is_done_once_the_primary_is_stopped(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    # Given a pair with fence=stop, and a primary whose OS would take a minute to shut down
    deployment = deploy(topology, stack_template, clock, fence=FenceMode.STOP)
    sim.set_status(topology.primary_instance_id, instance="impaired")

    # When the alarm fails the pair over
    [outcome] = alarm(deployment, topology, clock)["outcomes"]

    # Then the primary was stopped with Force and SkipOsShutdown, and the fence is reported
    # done because EC2 shows it stopped, not because StopInstances answered
    assert sim.stop_requests == [(topology.primary_instance_id, True)]
    assert sim.os_shutdown_skipped == [topology.primary_instance_id]
    assert outcome["fence"]["done"] is True, outcome["fence"]
    assert "is stopped" in outcome["fence"]["detail"]
    [told] = deployment.notifications()
    assert told["subject"].endswith(", primary fenced")


@pytest.mark.parametrize("sim", [{"stop_seconds": 600.0}], indirect=True)
def test_a_primary_still_stopping_is_reported_stopping_not_fenced(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    # Given a pair with fence=stop, a primary that takes ten minutes to stop, and an
    # invocation with little time left after the move
    deployment = deploy(topology, stack_template, clock, fence=FenceMode.STOP)
    sim.set_status(topology.primary_instance_id, instance="impaired")
    from tests.support import alarm_message, sns_event  # noqa: PLC0415

    event = sns_event(
        alarm_message(
            alarm_name="EniFailover-nat-primary-status",
            instance_id=topology.primary_instance_id,
            at=clock.now(),
        )
    )

    # When the alarm fails the pair over
    [outcome] = deployment.invoke(event, FakeLambdaContext(remaining_seconds=RESERVE_SECONDS + 3))[
        "outcomes"
    ]

    # Then the move stands, and the fence says "stopping": neither done nor failed
    assert outcome["outcome"] == "swapped"
    assert where(topology) == topology.standby_instance_id
    fence = outcome["fence"]
    assert (fence["done"], fence["pending"]) == (False, True), fence
    assert "stopping" in fence["detail"]
    [told] = deployment.notifications()
    assert told["subject"].endswith(", primary stopping")
    assert "FENCE FAILED" not in told["subject"]
    assert record(deployment).fence_mode == "stop"


def test_without_skip_os_shutdown_in_botocore_the_outcome_says_so(
    topology: PairTopology,
    sim: FaithfulEC2,
    stack_template: dict[str, Any],
    clock: ShiftedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a runtime whose botocore does not know SkipOsShutdown
    monkeypatch.setattr(ec2_calls, "knows_skip_os_shutdown", lambda _client: False)
    deployment = deploy(topology, stack_template, clock, fence=FenceMode.STOP)
    sim.set_status(topology.primary_instance_id, instance="impaired")

    # When the alarm fails the pair over
    [outcome] = alarm(deployment, topology, clock)["outcomes"]

    # Then the stop went out without it, and the outcome says the OS shutdown was not skipped
    assert sim.stop_requests == [(topology.primary_instance_id, True)]
    assert sim.os_shutdown_skipped == []
    assert "SkipOsShutdown" in outcome["fence"]["detail"]
    assert "graceful OS shutdown" in outcome["fence"]["detail"]


# --- only after the interface is on the standby --------------------------------------------


def test_the_stop_fence_comes_only_after_the_interface_is_attached_on_the_standby(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    # Given a pair with fence=stop, and a note of where the interface is when the stop comes
    deployment = deploy(topology, stack_template, clock, fence=FenceMode.STOP)
    ec2 = boto3.client("ec2", region_name=REGION)
    seen_at_stop: list[tuple[str | None, str | None]] = []

    def note_where(_: CallEvent) -> None:
        [eni] = ec2.describe_network_interfaces(NetworkInterfaceIds=[topology.interface_id])[
            "NetworkInterfaces"
        ]
        attachment = eni.get("Attachment") or {}
        seen_at_stop.append((attachment.get("InstanceId"), attachment.get("Status")))

    sim.on("StopInstances", note_where)
    sim.set_status(topology.primary_instance_id, instance="impaired")

    # When the alarm fails the pair over
    [outcome] = alarm(deployment, topology, clock)["outcomes"]

    # Then the one stop came when the interface was already attached on the standby
    assert outcome["outcome"] == "swapped"
    assert seen_at_stop == [(topology.standby_instance_id, "attached")]


@pytest.mark.parametrize("fence", [FenceMode.STOP, FenceMode.ISOLATE])
def test_a_move_that_fails_fences_nothing(
    topology: PairTopology,
    sim: FaithfulEC2,
    stack_template: dict[str, Any],
    clock: ShiftedClock,
    fence: FenceMode,
) -> None:
    # Given a fencing pair whose standby refuses the attach
    deployment = deploy(
        topology, stack_template, clock, fence=fence, quarantine_group_id=quarantine_group(topology)
    )
    sim.fail("AttachNetworkInterface", "InvalidParameterValue")
    sim.set_status(topology.primary_instance_id, instance="impaired")

    # When the alarm tries to fail the pair over, and the move stops short
    with pytest.raises(FailoverIncomplete):
        alarm(deployment, topology, clock)

    # Then nothing was fenced: no stop, no group change, no fence in the record
    [told] = deployment.notifications()
    outcome = json.loads(told["message"].split(JSON_MARKER)[1])
    assert outcome["outcome"] == "failed"
    assert outcome["fence"] is None
    assert sim.stop_requests == []
    assert sim.group_changes == []
    assert sim.calls["ModifyNetworkInterfaceAttribute"] == 0
    assert record(deployment).fence_mode is None


# --- failback after a forced detach (issue 18, item 4) ----------------------------------


HOLD_DOWN_MINUTES = 5  # failbackAfterSeconds 300, as deploy's pairs have by default
BLOCKING = {"force_detach_blocks_device_index": True}


def sweep_minutes(deployment: LocalDeployment, clock: ShiftedClock, minutes: int) -> list[Any]:
    outcomes: list[Any] = []
    for _minute in range(minutes):
        outcomes += deployment.invoke({"action": "sweep"})["outcomes"]
        clock.advance(60)
    return outcomes


@pytest.mark.parametrize("sim", [BLOCKING], indirect=True)
def test_failback_after_a_forced_detach_waits_for_the_primary_to_be_stopped_and_started(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    # Given a pair with failback=auto failed over from an impaired primary (a forced detach,
    # after which EC2 refuses that device index on the primary until a stop and start)
    deployment = deploy(topology, stack_template, clock, failback=FailbackPolicy.AUTO)
    sim.set_status(topology.primary_instance_id, instance="impaired")
    [failed_over] = alarm(deployment, topology, clock)["outcomes"]
    assert failed_over["forced_detach"] is True
    assert where(topology) == topology.standby_instance_id
    deployment.notifications()
    sim.reset_counts()

    # When the primary's checks pass again without a restart, for twice the hold-down
    sim.set_status(topology.primary_instance_id, instance="ok")
    outcomes = sweep_minutes(deployment, clock, 2 * HOLD_DOWN_MINUTES)

    # Then nothing fails back by itself, no attach is tried, and no window even opens
    assert outcomes == []
    assert sim.calls["AttachNetworkInterface"] == sim.calls["DetachNetworkInterface"] == 0
    assert record(deployment).healthy_since is None
    # And an operator's failback, even forced, is refused, saying what it waits for
    [manual] = deployment.invoke(
        {"action": "failback", "pair": "nat", "force": True, "requested_by": "ops"}
    )["outcomes"]
    assert manual["outcome"] == "refused"
    assert any("stopped and started" in reason for reason in manual["reasons"])
    assert where(topology) == topology.standby_instance_id
    assert sim.calls["AttachNetworkInterface"] == 0

    # When the primary is stopped and started, and stays healthy for the hold-down
    restart_primary(topology, sim)
    assert sweep_minutes(deployment, clock, HOLD_DOWN_MINUTES + 1) != []

    # Then it failed back, once, at the device index it had
    assert where(topology) == topology.primary_instance_id
    assert sim.calls["AttachNetworkInterface"] == 1
    assert record(deployment).forced_detach_at is None


@pytest.mark.parametrize("sim", [BLOCKING], indirect=True)
def test_a_refused_failback_attach_puts_the_interface_back_and_is_not_retried_next_minute(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    # Given a pair failed over, its primary restarted and healthy for the whole hold-down
    deployment = deploy(topology, stack_template, clock, failback=FailbackPolicy.AUTO)
    sim.set_status(topology.primary_instance_id, instance="impaired")
    alarm(deployment, topology, clock)
    restart_primary(topology, sim)
    assert sweep_minutes(deployment, clock, HOLD_DOWN_MINUTES) == []
    deployment.notifications()
    sim.reset_counts()
    # And EC2 refusing the attach to the primary
    sim.fail("AttachNetworkInterface", "InvalidParameterValue")

    # When the sweep fails back
    with pytest.raises(FailoverIncomplete):
        deployment.invoke({"action": "sweep"})

    # Then the interface is back on the standby, never left attached to nothing, after one
    # refused attach and one attach back
    assert where(topology) == topology.standby_instance_id
    assert sim.calls["AttachNetworkInterface"] == 2
    [told] = deployment.notifications()
    failed = json.loads(told["message"].split(JSON_MARKER)[1])
    assert failed["outcome"] == "failed"
    assert "put back on " + topology.standby_instance_id in failed["error"]
    [eni] = failed["interfaces"]
    assert (eni["attached_to"], eni["attachment_status"]) == (
        topology.standby_instance_id,
        "attached",
    )

    # And the next minutes' sweeps do not try again: the hold-down starts afresh
    clock.advance(60)
    assert sweep_minutes(deployment, clock, HOLD_DOWN_MINUTES - 1) == []
    assert sim.calls["AttachNetworkInterface"] == 2
    assert where(topology) == topology.standby_instance_id


def test_one_pairs_failed_failback_does_not_stop_the_sweep_for_the_others(
    topology: PairTopology, sim: FaithfulEC2, stack_template: dict[str, Any], clock: ShiftedClock
) -> None:
    # Given two pairs with failback=auto, both failed over when their primaries stopped, both
    # primaries started again and healthy for the whole hold-down
    ec2 = boto3.client("ec2", region_name=REGION)
    web = build_pair(ec2, name="web", sim=sim)
    pairs = (
        pair_of(topology, name="nat").model_copy(update={"failback": FailbackPolicy.AUTO}),
        pair_of(web, name="web", alarm_name="web-status").model_copy(
            update={"failback": FailbackPolicy.AUTO}
        ),
    )
    deployment = LocalDeployment.from_template(
        FailoverConfig(pairs=pairs, tuning=TEST_TUNING), stack_template, clock=clock
    )
    for built in (topology, web):
        ec2.stop_instances(InstanceIds=[built.primary_instance_id])
        sim.settle()
        event = sns_event(
            state_change_message(instance_id=built.primary_instance_id, state="stopped")
        )
        [outcome] = deployment.invoke(event)["outcomes"]
        assert outcome["outcome"] == "swapped"
        restart_primary(built, sim)
    assert sweep_minutes(deployment, clock, HOLD_DOWN_MINUTES) == []
    deployment.notifications()
    # And EC2 refusing the first failback's attach (nat's, the first pair the sweep watches)
    sim.fail("AttachNetworkInterface", "InvalidParameterValue")

    # When the sweep fails back: nat's failback fails, and the invocation fails so Lambda
    # records it, but only after the sweep has gone through every pair
    with pytest.raises(FailoverIncomplete):
        deployment.invoke({"action": "sweep"})

    # Then nat's interface was put back on its standby, and web still failed back
    assert where(topology) == topology.standby_instance_id
    [web_interface] = ec2.describe_network_interfaces(NetworkInterfaceIds=[web.interface_id])[
        "NetworkInterfaces"
    ]
    assert web_interface["Attachment"]["InstanceId"] == web.primary_instance_id
    told = {n["attributes"]["pair"]: outcome_of(n) for n in deployment.notifications()}
    assert told == {"nat": "failed", "web": "swapped"}
