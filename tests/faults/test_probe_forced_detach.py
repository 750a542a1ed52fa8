"""A probe that proved the move forces the detach from the start, and pays its after-effect.

When the prober's trigger holds the full count of failed service probes and the standby's
own service answering the same probe, the primary's service is dead and the standby's
alive: the failover forces the detach at once instead of waiting on a guest that EC2 still
calls healthy (issue 20). After a forced detach EC2 may refuse an interface at that device
index until the primary is stopped and started (AWS-FACTS), so the failback, automatic or
manual, waits for that restart, as after any forced detach; fence=stop still stops the
primary.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from eni_failover.config import FailbackPolicy, FailoverConfig, FenceMode, Probing
from eni_failover.pair_record import PairRecords
from eni_failover.probe import ProbeResult
from eni_failover.prober import ProberLease
from eni_failover.triggers import probe_failed_message
from eni_failover_ec2sim import CallEvent, FaithfulEC2, PairTopology
from eni_failover_emulator.clock import ShiftedClock
from eni_failover_emulator.deployment import LocalDeployment
from tests.faults.views import facts, instance_state, where
from tests.integration.conftest import TEST_TUNING, pair_of
from tests.integration.test_detection import PROBE
from tests.integration.test_failback_and_fence import restart_primary
from tests.support import REGION, sns_event

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

# EC2 refuses the device index on the primary after a forced detach, until a stop and start.
BLOCKING = {"force_detach_blocks_device_index": True}
HOLD_DOWN_MINUTES = 5  # failbackAfterSeconds 300, the default


def deploy(
    topology: PairTopology, template: dict[str, Any], clock: ShiftedClock, **policy: Any
) -> LocalDeployment:
    pair = pair_of(topology).model_copy(update={"probe": PROBE, **policy})
    return LocalDeployment.from_template(
        FailoverConfig(pairs=(pair,), tuning=TEST_TUNING), template, clock=clock
    )


def answer(ok: bool, at: Any) -> ProbeResult:
    return ProbeResult(
        target="10.0.1.50:443",
        ok=ok,
        at=at,
        latency_seconds=0.01 if ok else 1.0,
        error=None if ok else "connection refused",
    )


def service_failed(clock: ShiftedClock, *, standby: str) -> dict[str, Any]:
    """The prober's trigger: the stack's count of failed probes of the service, and the
    standby's answer to the same probe: "answers", "fails", or "unprobed" (a probe through
    the pair cannot probe the standby)."""
    first = clock.now() - timedelta(seconds=5)
    seen = {"answers": answer(True, first), "fails": answer(False, first), "unprobed": None}
    return sns_event(
        probe_failed_message(
            pair="nat",
            probe=PROBE,
            failures=tuple(
                answer(False, first + timedelta(seconds=0.25 * n))
                for n in range(Probing().failures)
            ),
            standby=seen[standby],
            account_id="123456789012",
            region=REGION,
            at=clock.now(),
        )
    )


def detaches(sim: FaithfulEC2) -> list[bool]:
    """Whether each DetachNetworkInterface EC2 carries out from now on was forced."""
    forced: list[bool] = []

    def note(event: CallEvent) -> None:
        forced.append(str(event.params.get("Force", False)).lower() == "true")

    sim.on("DetachNetworkInterface", note)
    return forced


def primary_answers(deployment: LocalDeployment, clock: ShiftedClock) -> None:
    """The prober's last saved result: the primary's own address answers the probe now."""
    lease = ProberLease(deployment.clients.dynamodb, deployment.resources.state_table_name)
    now = clock.now()
    assert lease.acquire("test-prober", now=now.timestamp(), hold_seconds=1) is not None
    result = answer(True, now)
    saved = {"target": result.target, "ok": True, "at": now.isoformat(), "error": None}
    lease.save(
        "test-prober",
        {"last": {"nat": {"primary": saved | {"latency_seconds": result.latency_seconds}}}},
        release=True,
    )


def sweep_minutes(deployment: LocalDeployment, clock: ShiftedClock, minutes: int) -> list[Any]:
    """The minute's sweep, `minutes` times, the prober seeing the primary answer each time."""
    outcomes: list[Any] = []
    for _minute in range(minutes):
        primary_answers(deployment, clock)
        outcomes += deployment.invoke({"action": "sweep"})["outcomes"]
        clock.advance(60)
    return outcomes


@pytest.mark.parametrize("sim", [BLOCKING], indirect=True)
def test_a_probe_with_an_answering_standby_forces_the_detach_and_failback_waits_for_a_restart(
    topology: PairTopology, sim: FaithfulEC2, ec2: EC2Client, stack_template: dict[str, Any]
) -> None:
    # Given a probed pair with failback=auto, and a primary EC2 calls healthy
    clock = ShiftedClock()
    deployment = deploy(topology, stack_template, clock, failback=FailbackPolicy.AUTO)
    forced = detaches(sim)

    # When the prober reports the service dead on the primary and answering on the standby
    [outcome] = deployment.invoke(service_failed(clock, standby="answers"))["outcomes"]

    # Then the one detach was forced from the start, and the interface is on the standby
    assert outcome["outcome"] == "swapped"
    assert forced == [True]
    assert where(ec2, topology.interface_id).instance_id == topology.standby_instance_id
    [told] = deployment.notifications()
    report = facts(told)
    assert report["forced_detach"] is True
    assert "force: the probe found the service dead" in report["steps"][0]["detail"]
    # And the pair remembers the forced detach from the primary
    record = PairRecords(deployment.clients.dynamodb, deployment.resources.state_table_name)
    assert record.read("nat").forced_detach_instance_id == topology.primary_instance_id
    sim.reset_counts()

    # When the primary's service answers again, without a restart, for twice the hold-down
    outcomes = sweep_minutes(deployment, clock, 2 * HOLD_DOWN_MINUTES)

    # Then nothing fails back by itself and no attach is tried
    assert outcomes == []
    assert sim.calls["AttachNetworkInterface"] == 0
    assert record.read("nat").healthy_since is None
    # And an operator's failback, even forced, is refused, saying what it waits for
    [manual] = deployment.invoke(
        {"action": "failback", "pair": "nat", "force": True, "requested_by": "ops"}
    )["outcomes"]
    assert manual["outcome"] == "refused"
    assert any("stopped and started" in reason for reason in manual["reasons"])
    assert sim.calls["AttachNetworkInterface"] == 0

    # When the primary is stopped and started, and answers for the hold-down
    restart_primary(topology, sim)
    [back] = sweep_minutes(deployment, clock, HOLD_DOWN_MINUTES + 1)

    # Then it failed back, once, and the forced detach is forgotten
    assert (back["outcome"], back["direction"]) == ("swapped", "failback")
    assert where(ec2, topology.interface_id).instance_id == topology.primary_instance_id
    assert sim.calls["AttachNetworkInterface"] == 1
    assert record.read("nat").forced_detach_at is None


@pytest.mark.parametrize("standby", ["unprobed", "fails"])
def test_a_probe_without_an_answering_standby_never_forces_the_detach(
    topology: PairTopology,
    sim: FaithfulEC2,
    ec2: EC2Client,
    stack_template: dict[str, Any],
    standby: str,
) -> None:
    # Given a probed pair whose primary EC2 calls healthy
    clock = ShiftedClock()
    deployment = deploy(topology, stack_template, clock)
    forced = detaches(sim)

    # When the prober's trigger has no answer of the standby's service, or a failed one
    [outcome] = deployment.invoke(service_failed(clock, standby=standby))["outcomes"]

    # Then no detach is forced: without the standby's evidence the interface moves with a
    # normal detach, and with the standby failing too nothing moves at all
    record = PairRecords(deployment.clients.dynamodb, deployment.resources.state_table_name)
    assert record.read("nat").forced_detach_at is None
    if standby == "unprobed":
        assert outcome["outcome"] == "swapped"
        assert forced == [False]
        assert where(ec2, topology.interface_id).instance_id == topology.standby_instance_id
    else:
        assert outcome["outcome"] == "refused"
        assert forced == []
        assert where(ec2, topology.interface_id).instance_id == topology.primary_instance_id


@pytest.mark.parametrize("sim", [BLOCKING], indirect=True)
def test_fence_stop_still_stops_the_primary_after_a_forced_probe_failover(
    topology: PairTopology, sim: FaithfulEC2, ec2: EC2Client, stack_template: dict[str, Any]
) -> None:
    # Given a probed pair with fence=stop
    clock = ShiftedClock()
    deployment = deploy(topology, stack_template, clock, fence=FenceMode.STOP)
    forced = detaches(sim)

    # When the prober reports the service dead on the primary and answering on the standby
    [outcome] = deployment.invoke(service_failed(clock, standby="answers"))["outcomes"]

    # Then the detach was forced, the interface is on the standby, and the primary stopped
    assert outcome["outcome"] == "swapped"
    assert forced == [True]
    assert outcome["fence"]["done"] is True, outcome["fence"]
    assert instance_state(ec2, topology.primary_instance_id) == "stopped"

    # When the fenced primary is started again (a new LaunchTime) and an operator fails back
    restart_primary(topology, sim)
    [back] = deployment.invoke({"action": "failback", "pair": "nat", "requested_by": "ops"})[
        "outcomes"
    ]

    # Then the interface is home: the start was the restart the forced detach asked for
    assert back["outcome"] == "swapped", back
    assert where(ec2, topology.interface_id).instance_id == topology.primary_instance_id
