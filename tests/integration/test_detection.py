"""Detection beyond EC2's own reports: the sweep, service alarms and probe triggers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import boto3

from eni_failover.config import FailoverConfig
from eni_failover.probe import ProbeResult
from eni_failover.triggers import probe_failed_message
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_emulator.clock import ShiftedClock
from eni_failover_emulator.deployment import LocalDeployment
from eni_failover_emulator.events import alarm_change_event
from tests.integration.conftest import TEST_TUNING, pair_of
from tests.support import REGION, put_service_alarm, sns_event

SERVICE_ALARM = "web-unhealthy"
PROBE = "tcp:443"


def deployed(
    topology: PairTopology, template: dict[str, Any], *, ahead: timedelta = timedelta()
) -> LocalDeployment:
    pair = pair_of(topology).model_copy(update={"trigger_alarms": (SERVICE_ALARM,), "probe": PROBE})
    return LocalDeployment.from_template(
        FailoverConfig(pairs=(pair,), tuning=TEST_TUNING), template, clock=ShiftedClock(ahead)
    )


def where(topology: PairTopology) -> str | None:
    [eni] = boto3.client("ec2", region_name=REGION).describe_network_interfaces(
        NetworkInterfaceIds=[topology.interface_id]
    )["NetworkInterfaces"]
    return (eni.get("Attachment") or {}).get("InstanceId")


def sweep(deployment: LocalDeployment) -> dict[str, Any]:
    """The minute's sweep, then SNS delivering what it handed off to the function: the
    sweep's summary, with the outcomes of the invocations it started."""
    report = deployment.invoke({"action": "sweep"})
    assert report["dead_lettered"] == []
    delivered = deployment.deliver_triggers()
    assert len(delivered) == len(report["handed_off"])
    assert [i.error for i in delivered] == [None] * len(delivered)
    handled = [o for i in delivered if i.result is not None for o in i.result["outcomes"]]
    return {**report, "outcomes": report["outcomes"] + handled}


def stop_primary(sim: FaithfulEC2, topology: PairTopology) -> None:
    boto3.client("ec2", region_name=REGION).stop_instances(
        InstanceIds=[topology.primary_instance_id]
    )
    sim.settle()


class TestSweep:
    def test_the_sweep_catches_a_missed_stop_event(
        self, sim: FaithfulEC2, topology: PairTopology, stack_template: dict[str, Any]
    ) -> None:
        # Given the primary stopped two minutes ago and its state-change event never arrived
        stop_primary(sim, topology)
        deployment = deployed(topology, stack_template, ahead=timedelta(minutes=2))
        # When the minute's sweep runs
        report = sweep(deployment)
        # Then it handed the pair off, whose own invocation moved the interface and told the
        # operators why
        assert [h["pair"] for h in report["handed_off"]] == ["nat"]
        assert [o["outcome"] for o in report["outcomes"]] == ["swapped"]
        assert where(topology) == topology.standby_instance_id
        [told] = deployment.notifications()
        assert "sweep" in told["message"]
        assert "no event started a failover" in told["message"]
        # And the next sweep finds nothing left to do, and says nothing
        assert sweep(deployment)["handed_off"] == []
        assert deployment.notifications() == []

    def test_a_young_failure_is_left_to_its_event(
        self, sim: FaithfulEC2, topology: PairTopology, stack_template: dict[str, Any]
    ) -> None:
        # Given the primary stopped seconds ago (its event is on its way)
        stop_primary(sim, topology)
        deployment = deployed(topology, stack_template, ahead=timedelta(seconds=5))
        # Then the sweep leaves it alone
        assert sweep(deployment)["handed_off"] == []
        assert where(topology) == topology.primary_instance_id

    def test_the_same_failure_is_handled_once(
        self, sim: FaithfulEC2, topology: PairTopology, stack_template: dict[str, Any]
    ) -> None:
        # Given a stopped primary and a standby that cannot take over
        stop_primary(sim, topology)
        boto3.client("ec2", region_name=REGION).stop_instances(
            InstanceIds=[topology.standby_instance_id]
        )
        sim.settle()
        deployment = deployed(topology, stack_template, ahead=timedelta(minutes=2))
        # When the sweep runs minute after minute
        first, second = sweep(deployment), sweep(deployment)
        # Then one refusal was told, once
        assert [o["outcome"] for o in first["outcomes"]] == ["refused"]
        assert [o["outcome"] for o in second["outcomes"]] == ["refused"]  # the saved answer
        assert len(deployment.notifications()) == 1

    def test_a_healthy_pair_is_left_alone(
        self, topology: PairTopology, stack_template: dict[str, Any]
    ) -> None:
        deployment = deployed(topology, stack_template, ahead=timedelta(minutes=2))
        assert sweep(deployment)["handed_off"] == []
        assert deployment.notifications() == []


class TestServiceAlarm:
    def put_alarm(self, state: Literal["ALARM", "OK"]) -> None:
        put_service_alarm(boto3.client("cloudwatch", region_name=REGION), SERVICE_ALARM, state)

    def test_alarm_acts_on_a_healthy_primary(
        self, topology: PairTopology, stack_template: dict[str, Any]
    ) -> None:
        # Given the load balancer's alarm says the service is down, and EC2 sees nothing wrong
        self.put_alarm("ALARM")
        deployment = deployed(topology, stack_template)
        # When its change to ALARM arrives
        report = deployment.invoke(sns_event(alarm_change_event(alarm_name=SERVICE_ALARM)))
        # Then the interface moves
        assert [o["outcome"] for o in report["outcomes"]] == ["swapped"]
        assert where(topology) == topology.standby_instance_id

    def test_ok_is_ignored(self, topology: PairTopology, stack_template: dict[str, Any]) -> None:
        self.put_alarm("OK")
        deployment = deployed(topology, stack_template)
        report = deployment.invoke(
            sns_event(alarm_change_event(alarm_name=SERVICE_ALARM, state="OK"))
        )
        assert report["outcomes"] == []
        assert report["ignored"] == [
            f"OK is not a failure (alarm {SERVICE_ALARM} -> OK: Threshold Crossed: 1 datapoint "
            "[3.0] was greater than the threshold)"
        ]
        assert where(topology) == topology.primary_instance_id

    def test_an_alarm_already_back_to_ok_is_refused_with_the_reason(
        self, topology: PairTopology, stack_template: dict[str, Any]
    ) -> None:
        # Given the alarm went to ALARM and is back to OK by the time the function looks
        self.put_alarm("OK")
        deployment = deployed(topology, stack_template)
        report = deployment.invoke(sns_event(alarm_change_event(alarm_name=SERVICE_ALARM)))
        # Then nothing moves, and the operators are told why
        [outcome] = report["outcomes"]
        assert outcome["outcome"] == "refused"
        assert f"alarm '{SERVICE_ALARM}' is OK now" in " ".join(outcome["reasons"])
        assert where(topology) == topology.primary_instance_id

    def test_the_function_asks_for_metric_alarms_only(
        self, topology: PairTopology, stack_template: dict[str, Any]
    ) -> None:
        # Given the service alarm in ALARM, and the function's DescribeAlarms requests noted
        self.put_alarm("ALARM")
        deployment = deployed(topology, stack_template)
        asked: list[dict[str, Any]] = []
        deployment.clients.cloudwatch.meta.events.register(
            "provide-client-params.cloudwatch.DescribeAlarms",
            lambda params, **_: asked.append(dict(params)),
        )
        # When its change to ALARM arrives
        report = deployment.invoke(sns_event(alarm_change_event(alarm_name=SERVICE_ALARM)))
        # Then the function asked for that metric alarm by name, and for metric alarms only:
        # its permission names alarm ARNs, and CloudWatch describes a composite alarm only
        # to a permission on "*", so asking for composites would be refused in AWS
        assert asked == [{"AlarmNames": [SERVICE_ALARM], "AlarmTypes": ["MetricAlarm"]}]
        assert [o["outcome"] for o in report["outcomes"]] == ["swapped"]


def probe_result(ok: bool, at: datetime, error: str | None = None) -> ProbeResult:
    return ProbeResult(target="10.0.1.50:443", ok=ok, at=at, latency_seconds=1.0, error=error)


def probe_trigger(*, standby_ok: bool, at: datetime | None = None) -> str:
    at = at or datetime.now(UTC)
    return probe_failed_message(
        pair="nat",
        probe=PROBE,
        failures=tuple(
            probe_result(False, at + timedelta(seconds=2 * n), "connection refused")
            for n in range(3)
        ),
        standby=probe_result(standby_ok, at, None if standby_ok else "connection refused"),
        account_id="123456789012",
        region=REGION,
        at=at + timedelta(seconds=5),
    )


class TestProbeTrigger:
    def test_a_failed_service_moves_a_primary_ec2_calls_healthy(
        self, topology: PairTopology, stack_template: dict[str, Any]
    ) -> None:
        deployment = deployed(topology, stack_template)
        report = deployment.invoke(sns_event(probe_trigger(standby_ok=True)))
        assert [o["outcome"] for o in report["outcomes"]] == ["swapped"]
        assert where(topology) == topology.standby_instance_id
        [told] = deployment.notifications()
        assert "3 probes (tcp:443) in a row failed" in told["message"]

    def test_the_probers_direct_invoke_moves_once_and_its_copy_on_the_topic_is_told_once(
        self, topology: PairTopology, stack_template: dict[str, Any]
    ) -> None:
        # Given the prober invoked the function with its trigger directly (the event is the
        # trigger itself, no SNS envelope)
        deployment = deployed(topology, stack_template)
        message = probe_trigger(standby_ok=True)
        report = deployment.invoke(json.loads(message))
        # Then the interface moved and the operators were told once
        assert [o["outcome"] for o in report["outcomes"]] == ["swapped"]
        assert where(topology) == topology.standby_instance_id
        # When the same trigger also arrives through the topic (the invoke's answer was
        # lost, and the prober sent it the other way)
        again = deployment.invoke(sns_event(message))
        # Then it is the same trigger: its saved answer, no second move, no second email
        assert [o["outcome"] for o in again["outcomes"]] == ["swapped"]
        assert len(deployment.notifications()) == 1

    def test_the_standby_down_too_is_detection_degraded(
        self, topology: PairTopology, stack_template: dict[str, Any]
    ) -> None:
        deployment = deployed(topology, stack_template)
        report = deployment.invoke(sns_event(probe_trigger(standby_ok=False)))
        [outcome] = report["outcomes"]
        assert outcome["outcome"] == "refused"
        assert "detection degraded" in " ".join(outcome["reasons"])
        assert where(topology) == topology.primary_instance_id

    def test_a_stale_probe_trigger_is_refused(
        self, topology: PairTopology, stack_template: dict[str, Any]
    ) -> None:
        deployment = deployed(topology, stack_template)
        old = datetime.now(UTC) - timedelta(hours=1)
        report = deployment.invoke(sns_event(probe_trigger(standby_ok=True, at=old)))
        [outcome] = report["outcomes"]
        assert outcome["outcome"] == "refused"
        assert "stale" in " ".join(outcome["reasons"])
        assert where(topology) == topology.primary_instance_id

    def test_a_probe_trigger_for_an_unprobed_pair_is_ignored(
        self, topology: PairTopology, stack_template: dict[str, Any]
    ) -> None:
        deployment = LocalDeployment.from_template(
            FailoverConfig(pairs=(pair_of(topology),), tuning=TEST_TUNING), stack_template
        )
        report = deployment.invoke(sns_event(probe_trigger(standby_ok=True)))
        assert report["ignored"] == ["the prober names pair 'nat', which is not probed"]
        assert json.dumps(report["outcomes"]) == "[]"
