"""The handler end to end on the faithful EC2: triggers in, interface moved, one email out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from eni_failover.outcome import JSON_MARKER
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_emulator.deployment import LocalDeployment
from eni_failover_emulator.events import metric_math_alarm_message
from tests.integration.conftest import ALARM_NAME
from tests.support import alarm_message, load_event, sns_event, state_change_message


def where_is(topology: PairTopology) -> dict[str, Any]:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    [eni] = ec2.describe_network_interfaces(NetworkInterfaceIds=[topology.interface_id])[
        "NetworkInterfaces"
    ]
    return dict(eni)


def machine_readable(notification: dict[str, Any]) -> dict[str, Any]:
    body: str = notification["message"]
    parsed: dict[str, Any] = json.loads(body.split(JSON_MARKER, 1)[1])
    return parsed


def test_alarm_moves_interface_and_elastic_ip_to_standby(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    # Given the primary's instance status check fails and its alarm goes to ALARM
    sim.set_status(topology.primary_instance_id, instance="impaired")
    event = sns_event(
        alarm_message(alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id)
    )

    # When the trigger topic delivers it to the function
    deployment.invoke(event)

    # Then the interface, with its IPs, MAC and Elastic IP, is attached to the standby
    eni = where_is(topology)
    assert eni["Attachment"]["InstanceId"] == topology.standby_instance_id
    assert eni["Attachment"]["Status"] == "attached"
    assert eni["Attachment"]["DeviceIndex"] == topology.device_index
    assert eni["MacAddress"] == topology.mac_address
    assert eni["Association"]["PublicIp"] == topology.public_ip
    # And exactly one notification says so, readable and machine-readable
    [notification] = deployment.notifications()
    assert notification["subject"] == (
        f"ENI failover nat: moved to standby {topology.standby_instance_id}"
    )
    assert notification["attributes"] == {
        "outcome": "swapped",
        "pair": "nat",
        "direction": "failover",
    }
    assert topology.public_ip is not None
    assert topology.public_ip in notification["message"]
    assert topology.private_ips[0] in notification["message"]
    facts = machine_readable(notification)
    assert facts["from_instance_id"] == topology.primary_instance_id
    assert facts["to_instance_id"] == topology.standby_instance_id
    assert facts["trigger"]["source"] == ALARM_NAME
    assert [s["step"] for s in facts["steps"]] == [
        "detach requested",
        "detached",
        "attach requested",
        "attached",
    ]
    assert facts["swap_seconds"] > 0


def test_stopped_primary_is_failed_over_by_its_state_change_event(
    deployment: LocalDeployment, topology: PairTopology
) -> None:
    # Given the primary was stopped: it publishes no status data, so only the event tells
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ec2.stop_instances(InstanceIds=[topology.primary_instance_id])
    event = sns_event(
        state_change_message(instance_id=topology.primary_instance_id, state="stopped")
    )

    deployment.invoke(event)

    assert where_is(topology)["Attachment"]["InstanceId"] == topology.standby_instance_id
    [notification] = deployment.notifications()
    facts = machine_readable(notification)
    assert facts["outcome"] == "swapped"
    assert facts["forced_detach"] is True  # a stopped primary is detached with Force


def test_ok_and_unknown_alarms_change_nothing_and_notify_no_one(
    deployment: LocalDeployment, topology: PairTopology
) -> None:
    primary = topology.primary_instance_id
    ok = alarm_message(alarm_name=ALARM_NAME, instance_id=primary, state="OK")
    stranger = alarm_message(alarm_name="someone-elses-alarm", instance_id=primary)
    other_instance = state_change_message(instance_id="i-0aaaaaaaaaaaaaaaa", state="stopped")

    report = deployment.invoke(sns_event(ok, stranger, other_instance))

    assert where_is(topology)["Attachment"]["InstanceId"] == primary
    assert deployment.notifications() == []
    assert len(report["ignored"]) == 3


def test_unparseable_record_goes_to_the_dead_letter_queue_with_the_reason(
    deployment: LocalDeployment, topology: PairTopology
) -> None:
    deployment.invoke(sns_event("this is not an alarm"))

    [dead] = deployment.dead_letters()
    assert "is not JSON" in dead["reason"]
    assert dead["record"]["Sns"]["Message"] == "this is not an alarm"
    assert deployment.notifications() == []
    assert where_is(topology)["Attachment"]["InstanceId"] == topology.primary_instance_id


def test_stopped_standby_is_refused_and_the_interface_stays(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    sim.set_status(topology.primary_instance_id, system="impaired")
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ec2.stop_instances(InstanceIds=[topology.standby_instance_id])

    deployment.invoke(
        sns_event(alarm_message(alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id))
    )

    assert where_is(topology)["Attachment"]["InstanceId"] == topology.primary_instance_id
    [notification] = deployment.notifications()
    assert notification["subject"] == "ENI failover nat: failover refused"
    assert "is stopped, not running" in notification["message"]


def test_same_event_delivered_twice_swaps_once_and_notifies_once(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    sim.set_status(topology.primary_instance_id, instance="impaired")
    event = sns_event(
        alarm_message(alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id)
    )

    first = deployment.invoke(event)
    second = deployment.invoke(event)

    assert sim.calls["AttachNetworkInterface"] == 1
    assert len(deployment.notifications()) == 1
    assert second["outcomes"] == first["outcomes"]  # replayed, not redone


def test_second_trigger_of_the_same_failure_reports_already_on_standby(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    primary = topology.primary_instance_id
    sim.set_status(primary, instance="impaired")
    deployment.invoke(sns_event(alarm_message(alarm_name=ALARM_NAME, instance_id=primary)))
    deployment.invoke(sns_event(state_change_message(instance_id=primary, state="stopping")))

    subjects = [n["subject"] for n in deployment.notifications()]
    assert subjects == [
        f"ENI failover nat: moved to standby {topology.standby_instance_id}",
        f"ENI failover nat: already on standby {topology.standby_instance_id}",
    ]


def test_sample_event_file_is_accepted_by_the_handler(deployment: LocalDeployment) -> None:
    # The checked-in sample names an alarm this deployment does not have: ignored, not lost.
    report = deployment.invoke(load_event("alarm-status-check-failed.json"))
    assert report["ignored"] == [
        "alarm 'EniFailover-primary-primary-status' guards no configured pair"
    ]


@pytest.mark.parametrize(
    "sample", ["sns-console-test-template-alarm.json", "sns-sam-generate-event-alarm.json"]
)
def test_console_test_template_carrying_a_real_alarm_swaps(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2, sample: str
) -> None:
    # Given a failed primary, and the Lambda console's SNS test template (or the sam CLI's)
    # with this pair's alarm pasted in as the message: placeholder signature and URLs
    sim.set_status(topology.primary_instance_id, instance="impaired")
    event = load_event(sample)
    alarm = alarm_message(alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id)
    event["Records"][0]["Sns"]["Message"] = json.dumps(alarm)

    # When an operator sends it as a test event
    report = deployment.invoke(event)

    # Then it is handled as the alarm it carries: the interface moves, nothing is dead-lettered
    assert report["dead_lettered"] == []
    assert [o["outcome"] for o in report["outcomes"]] == ["swapped"]
    assert where_is(topology)["Attachment"]["InstanceId"] == topology.standby_instance_id


def test_documented_state_change_event_without_version_swaps(
    deployment: LocalDeployment, topology: PairTopology
) -> None:
    # Given a stopped primary, and its state-change event in the shape of the EC2 user
    # guide's example (no "version")
    primary = topology.primary_instance_id
    boto3.client("ec2", region_name="us-east-1").stop_instances(InstanceIds=[primary])
    event = load_event("ec2-state-change-without-version.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message["detail"]["instance-id"] = primary
    message["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)

    # When it is delivered
    report = deployment.invoke(event)

    # Then the failover runs
    assert report["dead_lettered"] == []
    assert [o["outcome"] for o in report["outcomes"]] == ["swapped"]
    assert where_is(topology)["Attachment"]["InstanceId"] == topology.standby_instance_id


def test_cloudwatch_alarm_event_of_an_alarm_no_pair_names_is_ignored(
    deployment: LocalDeployment, topology: PairTopology
) -> None:
    # Given CloudWatch's own event for an alarm that is in no pair's triggerAlarms (here the
    # pair's status alarm, which reaches the function through its own action instead)
    alarm_event = {
        **state_change_message(instance_id=topology.primary_instance_id, state="stopped"),
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "detail": {"alarmName": ALARM_NAME, "state": {"value": "ALARM"}},
    }

    # When it is delivered
    report = deployment.invoke(sns_event(alarm_event))

    # Then it is ignored with a reason that names it, nothing is dead-lettered or moved
    assert report["ignored"] == [f"alarm {ALARM_NAME!r} is in no pair's triggerAlarms"]
    assert deployment.dead_letters() == []
    assert where_is(topology)["Attachment"]["InstanceId"] == topology.primary_instance_id


def test_metric_math_alarm_over_the_primarys_status_checks_swaps(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    # Given a failed primary, and the pair's alarm as metric math over its StatusCheckFailed
    # and StatusCheckFailed_AttachedEBS
    primary = topology.primary_instance_id
    sim.set_status(primary, instance="impaired")
    alarm = metric_math_alarm_message(
        alarm_name=ALARM_NAME,
        metrics=[("StatusCheckFailed", primary), ("StatusCheckFailed_AttachedEBS", primary)],
    )

    # When it fires
    report = deployment.invoke(sns_event(alarm))

    # Then the interface moves to the standby
    assert [o["outcome"] for o in report["outcomes"]] == ["swapped"]
    assert where_is(topology)["Attachment"]["InstanceId"] == topology.standby_instance_id


def test_metric_math_alarm_that_also_watches_another_instance_is_ignored(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    # Given a failed primary, and the pair's alarm edited into metric math that also takes
    # another instance's status check
    primary = topology.primary_instance_id
    sim.set_status(primary, instance="impaired")
    alarm = metric_math_alarm_message(
        alarm_name=ALARM_NAME,
        metrics=[("StatusCheckFailed", primary), ("StatusCheckFailed", "i-0aaaaaaaaaaaaaaaa")],
    )

    # When it fires
    report = deployment.invoke(sns_event(alarm))

    # Then it is ignored with the reason, and nothing moves or is announced
    assert report["ignored"] == [
        f"alarm {ALARM_NAME!r} watches i-0aaaaaaaaaaaaaaaa, but pair 'nat' has primary {primary}"
    ]
    assert where_is(topology)["Attachment"]["InstanceId"] == primary
    assert deployment.notifications() == []
